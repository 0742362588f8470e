package dev.postern.deliver;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Maildir files hold LF line ends: every CRLF of the queued content becomes LF, any other CR stays. */
class CopyToLfTest {
    @Test void convertsAsTheByteByByteRuleWhateverTheReadsAndBufferSizes() throws Exception {
        Random random = new Random(3501);
        byte[] others = {'x', '.', 0x00, (byte) 0x8D, (byte) 0x8A, 0x0C, 0x0E, (byte) 0xFF};
        for (int round = 0; round < 20_000; round++) {
            byte[] content = new byte[random.nextInt(100)];
            int density = 1 + random.nextInt(12);
            for (int i = 0; i < content.length; i++) {
                content[i] = random.nextInt(density) == 0 ? (random.nextBoolean() ? (byte) '\r' : (byte) '\n') : others[random.nextInt(others.length)];
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            MaildirWriter.copyToLf(new ShortReads(content, random), out, 1 + random.nextInt(40));
            assertThat(out.toByteArray()).as("round %d: %s", round, Arrays.toString(content)).isEqualTo(reference(content));
        }
    }

    /** The rule, one byte at a time over the whole content. */
    private static byte[] reference(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '\r' && i + 1 < in.length && in[i + 1] == '\n') continue;
            out.write(in[i]);
        }
        return out.toByteArray();
    }

    /** Hands the content over in reads of random length, as a stream of queue-log extents may. */
    private static final class ShortReads extends InputStream {
        private final byte[] content;
        private final Random random;
        private int pos;

        ShortReads(byte[] content, Random random) {
            this.content = content;
            this.random = random;
        }

        @Override public int read() {
            return pos < content.length ? content[pos++] & 0xff : -1;
        }

        @Override public int read(byte[] b, int off, int len) {
            if (pos == content.length) return -1;
            int n = Math.min(Math.min(len, content.length - pos), 1 + random.nextInt(20));
            System.arraycopy(content, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
