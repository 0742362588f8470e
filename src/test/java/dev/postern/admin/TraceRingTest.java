package dev.postern.admin;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The trace's ring: lines by id, the newest kept, the oldest given up whole, text as logged. */
class TraceRingTest {
    private static final int SMALL = 8 * 1024;

    private static void add(TraceRing r, String id, String text, long millis) {
        r.add(id + ": " + text, id.length(), millis, "INFO", "postern.queue", 8);
    }

    @Test void aMessagesLinesComeBackInOrderWithTheirTimeLevelAndSource() {
        TraceRing r = new TraceRing(SMALL);
        add(r, "1N8W304NV9P6TD", "client=localhost[127.0.0.1]", 1_000);
        r.add("2AAAAAAAAAAAAA: from=<b@x.test>", 14, 1_500, "WARN", "smtpd", 0);
        add(r, "1N8W304NV9P6TD", "removed", 2_000);
        List<TraceRing.Event> e = r.of("1N8W304NV9P6TD", 200);
        assertThat(e).extracting(TraceRing.Event::text).containsExactly("client=localhost[127.0.0.1]", "removed");
        assertThat(e.get(0).at().toEpochMilli()).isEqualTo(1_000);
        assertThat(e.get(0).level()).isEqualTo("INFO");
        assertThat(e.get(0).source()).isEqualTo("queue");
        assertThat(r.of("2AAAAAAAAAAAAA", 200)).singleElement().satisfies(x -> {
            assertThat(x.level()).isEqualTo("WARN");
            assertThat(x.source()).isEqualTo("smtpd");
        });
        assertThat(r.of("1N8W304NV9P6T", 200)).as("a prefix of an id is another id").isEmpty();
        assertThat(r.of("1N8W304NV9P6TD", 1)).hasSize(1);
    }

    @Test void textKeepsEveryCharacterAndALongLineIsCutAtAWholeCharacter() {
        TraceRing r = new TraceRing(SMALL);
        String mixed = "to=<jörg@exämple.test>, status=sent (250 ok ✓ 😀)";
        add(r, "ID0000000000001", mixed, 1);
        assertThat(r.of("ID0000000000001", 9).get(0).text()).isEqualTo(mixed);
        add(r, "ID0000000000002", "lone \uD800 surrogate", 1);
        assertThat(r.of("ID0000000000002", 9).get(0).text()).isEqualTo("lone ? surrogate");
        String longLine = "é".repeat(3000);
        add(r, "ID0000000000003", longLine, 1);
        assertThat(r.of("ID0000000000003", 9).get(0).text()).isEqualTo("é".repeat(TraceRing.MAX_TEXT / 2));
    }

    /** Random lines into a small ring, compared with a list that keeps everything: the ring holds a suffix of it. */
    @Test void theRingAlwaysHoldsTheNewestLinesWholeAcrossManyWrapArounds() {
        Random rnd = new Random(7);
        TraceRing r = new TraceRing(SMALL);
        List<String[]> all = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            String id = "ID" + (1_000_000_000_000L + rnd.nextInt(40));
            String text = "line " + i + " " + "x".repeat(rnd.nextInt(rnd.nextInt(10) == 0 ? 3000 : 120));
            add(r, id, text, i);
            all.add(new String[] {id, text.length() > TraceRing.MAX_TEXT ? text.substring(0, TraceRing.MAX_TEXT) : text});
            if (i % 997 == 0 || i == 19_999) {
                for (int k = 0; k < 40; k++) {
                    String want = "ID" + (1_000_000_000_000L + k);
                    List<String> expected = new ArrayList<>();
                    for (String[] l : all) if (l[0].equals(want)) expected.add(l[1]);
                    List<String> got = r.of(want, Integer.MAX_VALUE).stream().map(TraceRing.Event::text).toList();
                    assertThat(expected).as("what the ring has of " + want + " is the newest of what was added").endsWith(got.toArray(String[]::new));
                }
            }
        }
        // and it uses its capacity: at least the newest third of 8 KiB of lines, not just the last one
        int keptBytes = 0;
        for (int k = 0; k < 40; k++) {
            for (TraceRing.Event e : r.of("ID" + (1_000_000_000_000L + k), Integer.MAX_VALUE)) keptBytes += e.text().length() + 30;
        }
        assertThat(keptBytes).isGreaterThan(SMALL / 3);
    }
}
