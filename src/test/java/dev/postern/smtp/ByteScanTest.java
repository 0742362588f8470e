package dev.postern.smtp;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ByteScanTest {
    // bytes next to CR and LF in value (and 0x00, 0x80, 0xFF) are where a word-at-a-time scan could go wrong
    private static final byte[] OTHERS = {0x0C, 0x0E, 0x0B, 0x09, (byte) 0x8D, (byte) 0x8A, 0x00, (byte) 0x80, (byte) 0xFF, 'x', '.', 0x01};

    @Test void findsTheFirstCrOrLfTheFirstCrAndTheFirstLfAsAByteByByteScanWould() {
        Random random = new Random(5321);
        for (int round = 0; round < 200_000; round++) {
            byte[] in = randomContent(random, 1 + random.nextInt(40));
            int from = random.nextInt(in.length + 1), to = from + random.nextInt(in.length - from + 1);
            int crOrLf = from, lf = from, cr = from;
            while (crOrLf < to && in[crOrLf] != '\r' && in[crOrLf] != '\n') crOrLf++;
            while (lf < to && in[lf] != '\n') lf++;
            while (cr < to && in[cr] != '\r') cr++;
            assertThat(ByteScan.crOrLf(in, from, to)).as("round %d", round).isEqualTo(crOrLf);
            assertThat(ByteScan.cr(in, from, to)).as("round %d", round).isEqualTo(cr);
            assertThat(ByteScan.lf(in, from, to)).as("round %d", round).isEqualTo(lf);
        }
    }

    /** Mostly other bytes, with CR and LF at a density that changes from array to array. */
    static byte[] randomContent(Random random, int length) {
        byte[] in = new byte[length];
        int density = 1 + random.nextInt(30);
        for (int i = 0; i < in.length; i++) {
            in[i] = random.nextInt(density) == 0 ? (random.nextBoolean() ? (byte) '\r' : (byte) '\n') : OTHERS[random.nextInt(OTHERS.length)];
        }
        return in;
    }
}
