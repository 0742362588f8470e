package dev.postern.smtp;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class DotStuffingTest {
    @Test void aPeriodThatStartsALineIsDoubledAndNoOtherIs() {
        assertThat(stuffed(".a\r\n..b\r\nc.d\r\n.\r\n")).isEqualTo("..a\r\n...b\r\nc.d\r\n..\r\n");
    }

    @Test void piecesSplitAnywhereGiveWhatTheByteByByteRuleGives() {
        Random random = new Random(4552);
        for (int round = 0; round < 50_000; round++) {
            byte[] content = ByteScanTest.randomContent(random, random.nextInt(120));
            int piece = 1 + random.nextInt(40);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            boolean lineStart = true;
            for (int off = 0; off < content.length; off += piece) {
                byte[] part = java.util.Arrays.copyOfRange(content, off, Math.min(content.length, off + piece));
                lineStart = DotStuffing.stuff(part, part.length, lineStart, out::write);
            }
            assertThat(out.toByteArray()).as("round %d", round).isEqualTo(byteByByte(content));
        }
    }

    private static String stuffed(String content) {
        byte[] in = content.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DotStuffing.stuff(in, in.length, true, out::write);
        return out.toString(StandardCharsets.US_ASCII);
    }

    /** The rule as the outbound client applied it before: after LF (or at the start), a period is doubled. */
    private static byte[] byteByByte(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineStart = true;
        for (byte b : in) {
            if (lineStart && b == '.') out.write('.');
            out.write(b);
            lineStart = b == '\n';
        }
        return out.toByteArray();
    }
}
