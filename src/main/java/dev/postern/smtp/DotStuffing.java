package dev.postern.smtp;

/** RFC 5321 4.5.2: before sending, a period that starts a line of the content gets a second one. */
public final class DotStuffing {
    /** Where the bytes go: runs of the content, and the added periods. */
    public interface Output {
        void write(byte[] b, int off, int len);
    }

    private static final byte[] DOT = {'.'};

    private DotStuffing() {}

    /**
     * Writes in[0, n) to out with every line-starting period doubled; lineStart says whether in[0] starts a
     * line (the previous piece ended with LF, or this is the first). Returns whether the next piece starts one.
     */
    public static boolean stuff(byte[] in, int n, boolean lineStart, Output out) {
        int from = 0;
        for (int dot = lineStartingDot(in, 0, n, lineStart); dot < n; dot = lineStartingDot(in, dot + 1, n, false)) {
            out.write(in, from, dot - from);
            out.write(DOT, 0, 1);
            from = dot; // the content's own period follows in the next run
        }
        out.write(in, from, n - from);
        return n > 0 ? in[n - 1] == '\n' : lineStart;
    }

    /** The index of the first period in in[from, to) that starts a line, or to. */
    private static int lineStartingDot(byte[] in, int from, int to, boolean atLineStart) {
        if (atLineStart && from < to && in[from] == '.') return from;
        for (int p = from; ; ) {
            int lf = ByteScan.lf(in, p, to);
            if (lf + 1 >= to) return to;
            if (in[lf + 1] == '.') return lf + 1;
            p = lf + 1;
        }
    }
}
