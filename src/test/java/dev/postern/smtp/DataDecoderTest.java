package dev.postern.smtp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class DataDecoderTest {

    record Result(String data, boolean ended, boolean bare, int consumed) {}

    /** Feeds the input in pieces of the given size, as a network would. */
    static Result decode(String input, int piece) {
        byte[] in = input.getBytes(StandardCharsets.ISO_8859_1);
        DataDecoder d = new DataDecoder();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int off = 0;
        while (off < in.length && !d.ended()) {
            int n = Math.min(piece, in.length - off);
            byte[] buf = new byte[n + 2];
            long r = d.decode(in, off, n, buf);
            out.write(buf, 0, (int) r);
            off += (int) (r >>> 32);
        }
        return new Result(out.toString(StandardCharsets.ISO_8859_1), d.ended(), d.sawBareNewline(), off);
    }

    @Test void endsOnlyAtCrLfDotCrLfAndLeavesPipelinedBytes() {
        for (int piece : new int[] {1, 2, 3, 7, 1000}) {
            Result r = decode("a\r\nb\r\n.\r\nQUIT\r\n", piece);
            assertThat(r.ended()).isTrue();
            assertThat(r.data()).isEqualTo("a\r\nb\r\n");
            assertThat(r.consumed()).isEqualTo("a\r\nb\r\n.\r\n".length());
            assertThat(r.bare()).isFalse();
        }
    }

    @Test void emptyMessage() {
        Result r = decode(".\r\n", 1);
        assertThat(r.ended()).isTrue();
        assertThat(r.data()).isEmpty();
    }

    @Test void dotUnstuffing() {
        // RFC 5321 4.5.2: the first dot of a line that starts with one is removed
        assertThat(decode("..x\r\n...\r\n.\r\n", 1).data()).isEqualTo(".x\r\n..\r\n");
        assertThat(decode("a.b\r\n.\r\n", 1).data()).isEqualTo("a.b\r\n");
    }

    @ParameterizedTest
    @CsvSource({"'a\n.\nb'", "'a\n.\r\nb'", "'a\r\n.\nb'", "'a\r.\rb'", "'a\r\n.\rb'", "'a\rb'", "'a\nb'"})
    void bareCrOrLfNeverEndsDataAndIsFlagged(String body) {
        Result r = decode(body + "\r\n.\r\n", 1);
        assertThat(r.ended()).isTrue();
        assertThat(r.bare()).isTrue();
        assertThat(r.consumed()).isEqualTo(body.length() + 5);
    }

    @Test void notEndedWithoutTerminator() {
        Result r = decode("a\r\n.x\r\n", 2);
        assertThat(r.ended()).isFalse();
        assertThat(r.data()).isEqualTo("a\r\nx\r\n");
    }

    @Test void longLinesCopiedInRunsDecodeAlikeAtEverySplit() {
        // line content is copied in runs up to the next CR or LF: a run may end at any piece boundary
        String line = "x".repeat(199);
        String body = line + "\r\n.." + line + "\r\n" + line + "\rbare\r\n.\r\n";
        String expected = line + "\r\n." + line + "\r\n" + line + "\rbare\r\n";
        for (int piece = 1; piece <= 64; piece++) {
            Result r = decode(body + "QUIT\r\n", piece);
            assertThat(r.data()).as("pieces of " + piece).isEqualTo(expected);
            assertThat(r.ended()).isTrue();
            assertThat(r.bare()).isTrue();
            assertThat(r.consumed()).isEqualTo(body.length());
        }
    }

    @Test void decodesAsTheByteByByteRuleAtEverySplitOfRandomContent() {
        String[] parts = {"\r\n", "\r", "\n", ".", "..", "x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "\r\n.", "\r\n..", "\r\n\r\n", "\r\n.\r\n"};
        java.util.Random random = new java.util.Random(1982);
        for (int round = 0; round < 30_000; round++) {
            StringBuilder sb = new StringBuilder();
            for (int k = random.nextInt(30); k > 0; k--) sb.append(parts[random.nextInt(parts.length)]);
            String input = sb + (random.nextBoolean() ? "\r\n.\r\nQUIT\r\n" : "");
            int piece = 1 + random.nextInt(64);
            assertThat(decode(input, piece)).as("round %d, pieces of %d: %s", round, piece, input.replace("\r", "<CR>").replace("\n", "<LF>"))
                    .isEqualTo(byteByByte(input));
        }
    }

    /** The rule one byte at a time, as the decoder applied it before it copied runs: the reference. */
    private static Result byteByByte(String input) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int state = 0; // 0 line start, 1 mid line, 2 CR, 3 dot, 4 dot CR
        boolean bare = false;
        int i = 0;
        for (; i < input.length(); ) {
            char b = input.charAt(i++);
            if (state == 4) {
                if (b == '\n') return new Result(out.toString(StandardCharsets.ISO_8859_1), true, bare, i);
                bare = true;
                out.write('\r');
                state = 1;
            } else if (state == 2) {
                if (b == '\n') {
                    out.write('\r');
                    out.write('\n');
                    state = 0;
                    continue;
                }
                bare = true;
                out.write('\r');
                state = 1;
            } else if (state == 0 && b == '.') {
                state = 3;
                continue;
            } else if (state == 3 && b == '\r') {
                state = 4;
                continue;
            }
            if (b == '\r') {
                state = 2;
            } else {
                if (b == '\n') bare = true;
                out.write(b);
                state = 1;
            }
        }
        return new Result(out.toString(StandardCharsets.ISO_8859_1), false, bare, i);
    }
}
