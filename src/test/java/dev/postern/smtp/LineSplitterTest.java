package dev.postern.smtp;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LineSplitterTest {

    static List<LineSplitter.Line> split(String s, int limit) {
        LineSplitter ls = new LineSplitter(limit);
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        List<LineSplitter.Line> out = new ArrayList<>();
        int off = 0;
        while (off < b.length) {
            off += ls.feed(b, off, b.length - off);
            LineSplitter.Line l = ls.take();
            if (l != null) out.add(l);
        }
        return out;
    }

    @Test void crlfLines() {
        var lines = split("EHLO x\r\nNOOP\r\n", 100);
        assertThat(lines).extracting(LineSplitter.Line::text).containsExactly("EHLO x", "NOOP");
        assertThat(lines.get(0).length()).isEqualTo(8);
        assertThat(lines).noneMatch(LineSplitter.Line::bareNewline);
    }

    @Test void bareLfAndBareCrAreFlagged() {
        assertThat(split("NOOP\n", 100).get(0).bareNewline()).isTrue();
        assertThat(split("NO\rOP\r\n", 100).get(0).bareNewline()).isTrue();
    }

    @Test void tooLongLinesAreDiscardedToTheirEnd() {
        var lines = split("x".repeat(50) + "\r\nNOOP\r\n", 20);
        assertThat(lines.get(0).tooLong()).isTrue();
        assertThat(lines.get(0).length()).isEqualTo(52);
        assertThat(lines.get(1).text()).isEqualTo("NOOP");
    }
}
