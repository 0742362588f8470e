package dev.postern.smtp;

import dev.postern.mail.Reply;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reply lines (RFC 5321 4.2) and enhanced codes (RFC 3463), parsed by hand as the regular expressions did. */
class ReplyReaderTest {
    @Test void singleAndMultiLineRepliesWithAndWithoutEnhancedCodes() throws Exception {
        ReplyReader r = new ReplyReader();
        assertThat(r.line("250 2.1.0 Sender ok")).isEqualTo(new Reply(250, "2.1.0", List.of("Sender ok")));
        assertThat(r.line("250-mx.example.test")).isNull();
        assertThat(r.line("250-PIPELINING")).isNull();
        assertThat(r.line("250 SIZE 10240000")).isEqualTo(new Reply(250, null, List.of("mx.example.test", "PIPELINING", "SIZE 10240000")));
        assertThat(r.line("354")).isEqualTo(new Reply(354, null, List.of("")));
        assertThat(r.line("451 4.3.0 try later")).isEqualTo(new Reply(451, "4.3.0", List.of("try later")));
        assertThat(r.line("550 4.1.1 wrong class")).as("RFC 3463 2: a 4.x.x code in a 5xx reply is text")
                .isEqualTo(new Reply(550, null, List.of("4.1.1 wrong class")));
        assertThat(r.line("250 2.1234.0 x")).isEqualTo(new Reply(250, null, List.of("2.1234.0 x")));
    }

    @Test void malformedLinesAndACodeChangeWithinAReplyAreRefused() throws Exception {
        for (String bad : new String[] {"", "25", "600 x", "199 x", "25a x", "250x", "2500", "250\rx", "250 a\nb", "250 a\u2028b"}) {
            assertThatThrownBy(() -> new ReplyReader().line(bad)).as(bad).isInstanceOf(ReplyReader.MalformedReply.class);
        }
        ReplyReader r = new ReplyReader();
        r.line("250-first");
        assertThatThrownBy(() -> r.line("251 second")).isInstanceOf(ReplyReader.MalformedReply.class);
    }

    private static final Pattern LINE = Pattern.compile("([2-5]\\d\\d)([ -]|$)(.*)");
    private static final Pattern ENHANCED = Pattern.compile("([245]\\.\\d{1,3}\\.\\d{1,3}) (.*)");

    /** What the regular expressions this parser replaced made of one single-line reply (null: malformed). */
    private static Reply reference(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches() || m.group(2).equals("-")) return null;
        int c = Integer.parseInt(m.group(1));
        Matcher e = ENHANCED.matcher(m.group(3));
        if (e.matches() && String.valueOf(c).charAt(0) == e.group(1).charAt(0)) return new Reply(c, e.group(1), List.of(e.group(2)));
        return new Reply(c, null, List.of(m.group(3)));
    }

    @Test void agreesWithTheRegularExpressionsOnRandomLines() {
        Random random = new Random(3463);
        String alphabet = "2455.0 19 x.-\r";
        for (int i = 0; i < 100_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(16);
            for (int k = 0; k < length; k++) sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            String line = sb.toString();
            Reply expected = reference(line);
            Reply got;
            try {
                got = new ReplyReader().line(line);
            } catch (ReplyReader.MalformedReply e) {
                got = null;
            }
            if (line.length() > 3 && line.charAt(3) == '-' && expected == null && got == null) continue; // a continuation either way
            assertThat(got).as("\"%s\"", line.replace("\r", "\\r")).isEqualTo(expected);
        }
    }
}
