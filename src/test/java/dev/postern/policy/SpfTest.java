package dev.postern.policy;

import dev.postern.route.DnsjavaDns;
import dev.postern.testing.TestDnsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RFC 7208 check_host() against a loopback DNS server, each case with its expected result and the result
 * of an independent implementation (Debian's python3-spf) on the same zones.
 */
class SpfTest {
    static TestDnsServer dns;
    static Spf spf;

    /** ip, MAIL FROM ("<>" for null), HELO, expected result. */
    static final String[][] CASES = {
            {"192.0.2.1", "a@pass.test", "h.test", "pass"},
            {"198.51.100.1", "a@pass.test", "h.test", "fail"},
            {"192.0.2.1", "a@fail.test", "h.test", "fail"},
            {"192.0.2.1", "a@softfail.test", "h.test", "softfail"},
            {"192.0.2.1", "a@neutral.test", "h.test", "neutral"},
            {"192.0.2.1", "a@none.test", "h.test", "none"},
            {"192.0.2.1", "a@nowhere.test", "h.test", "none"},
            {"192.0.2.10", "a@a.test", "h.test", "pass"},
            {"192.0.2.11", "a@a.test", "h.test", "fail"},
            {"198.51.100.77", "a@acidr.test", "h.test", "pass"},
            {"192.0.2.20", "a@mx.test", "h.test", "pass"},
            {"192.0.2.21", "a@mx.test", "h.test", "fail"},
            {"192.0.2.1", "a@include.test", "h.test", "pass"},
            {"203.0.113.1", "a@include.test", "h.test", "fail"},
            {"192.0.2.1", "a@include-none.test", "h.test", "permerror"},
            {"192.0.2.1", "a@redirect.test", "h.test", "pass"},
            {"203.0.113.9", "a@redirect.test", "h.test", "fail"},
            {"192.0.2.1", "a@allredirect.test", "h.test", "pass"},
            {"192.0.2.10", "foo-bar@macro.test", "h.test", "pass"},
            {"192.0.2.11", "foo-bar@macro.test", "h.test", "fail"},
            {"192.0.2.1", "a@at10.test", "h.test", "fail"},
            {"192.0.2.1", "a@over10.test", "h.test", "permerror"},
            {"192.0.2.1", "a@loop.test", "h.test", "permerror"},
            {"192.0.2.1", "a@void.test", "h.test", "permerror"},
            {"192.0.2.1", "a@void2.test", "h.test", "fail"},
            {"192.0.2.1", "a@two.test", "h.test", "permerror"},
            {"192.0.2.1", "a@bad.test", "h.test", "permerror"},
            {"192.0.2.1", "a@badmacro.test", "h.test", "permerror"},
            {"2001:db8::1", "a@ip6.test", "h.test", "pass"},
            {"2001:db9::1", "a@ip6.test", "h.test", "fail"},
            {"192.0.2.30", "a@ptr.test", "h.test", "pass"},
            {"192.0.2.31", "a@ptr.test", "h.test", "fail"},
            {"192.0.2.1", "a@temp.test", "h.test", "temperror"},
            {"192.0.2.1", "a@inctemp.test", "h.test", "temperror"},
            {"192.0.2.1", "a@unknownmod.test", "h.test", "softfail"},
            {"192.0.2.1", "a@exp.test", "h.test", "fail"},
            {"192.0.2.40", "<>", "helo.test", "pass"},
            {"192.0.2.41", "<>", "helo.test", "fail"},
            {"192.0.2.1", "a@UPPER.test", "h.test", "pass"},
            {"192.0.2.1", "a@exists.test", "h.test", "pass"},
            {"192.0.2.2", "a@exists.test", "h.test", "softfail"},
    };

    @BeforeAll static void zones() throws Exception {
        dns = new TestDnsServer().zone(
                "pass.test. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
                "fail.test. IN TXT \"v=spf1 -all\"",
                "softfail.test. IN TXT \"v=spf1 ~all\"",
                "neutral.test. IN TXT \"v=spf1 ?all\"",
                "none.test. IN TXT \"just some text\"",
                "a.test. IN TXT \"v=spf1 a -all\"",
                "a.test. IN A 192.0.2.10",
                "acidr.test. IN TXT \"v=spf1 a:hosts.acidr.test/24 -all\"",
                "hosts.acidr.test. IN A 198.51.100.5",
                "mx.test. IN TXT \"v=spf1 mx -all\"",
                "mx.test. IN MX 10 mail.mx.test.",
                "mail.mx.test. IN A 192.0.2.20",
                "include.test. IN TXT \"v=spf1 include:pass.test -all\"",
                "include-none.test. IN TXT \"v=spf1 include:none.test -all\"",
                "redirect.test. IN TXT \"v=spf1 redirect=pass.test\"",
                "allredirect.test. IN TXT \"v=spf1 all redirect=fail.test\"",
                "macro.test. IN TXT \"v=spf1 exists:%{ir}.%{l1r-}.%{d}.list.macro.test -all\"",
                "10.2.0.192.foo.macro.test.list.macro.test. IN A 127.0.0.2",
                "at10.test. IN TXT \"v=spf1 include:f1.test include:f2.test include:f3.test include:f4.test include:f5.test "
                        + "include:f6.test include:f7.test include:f8.test include:f9.test include:f10.test -all\"",
                "over10.test. IN TXT \"v=spf1 include:f1.test include:f2.test include:f3.test include:f4.test include:f5.test "
                        + "include:f6.test include:f7.test include:f8.test include:f9.test include:f10.test include:f11.test -all\"",
                "loop.test. IN TXT \"v=spf1 include:loop.test -all\"",
                "void.test. IN TXT \"v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test -all\"",
                "void2.test. IN TXT \"v=spf1 a:nx1.void.test a:nx2.void.test -all\"",
                "two.test. IN TXT \"v=spf1 -all\"",
                "two.test. IN TXT \"v=spf1 +all\"",
                "bad.test. IN TXT \"v=spf1 foo:bar -all\"",
                "badmacro.test. IN TXT \"v=spf1 include:%{z}.test -all\"",
                "ip6.test. IN TXT \"v=spf1 ip6:2001:db8::/32 -all\"",
                "ptr.test. IN TXT \"v=spf1 ptr -all\"",
                "30.2.0.192.in-addr.arpa. IN PTR host.ptr.test.",
                "31.2.0.192.in-addr.arpa. IN PTR forged.ptr.test.",
                "host.ptr.test. IN A 192.0.2.30",
                "forged.ptr.test. IN A 192.0.2.99",
                "inctemp.test. IN TXT \"v=spf1 include:temp.test -all\"",
                "unknownmod.test. IN TXT \"v=spf1 foo=bar ~all\"",
                "exp.test. IN TXT \"v=spf1 -all exp=explain.exp.test\"",
                "explain.exp.test. IN TXT \"%{i} is not allowed to send for %{d}\"",
                "helo.test. IN TXT \"v=spf1 a -all\"",
                "helo.test. IN A 192.0.2.40",
                "upper.test. IN TXT \"V=SPF1 IP4:192.0.2.0/24 -ALL\"",
                "exists.test. IN TXT \"v=spf1 exists:%{i}.allow.exists.test ~all\"",
                "192.0.2.1.allow.exists.test. IN A 127.0.0.2");
        for (int i = 1; i <= 11; i++) dns.zone("f" + i + ".test. IN TXT \"v=spf1 -all\"");
        dns.servfail("temp.test");
        spf = new Spf(new DnsjavaDns(List.of(dns.address()), Duration.ofSeconds(2)), "mx.postern.test");
    }

    @AfterAll static void stop() { dns.close(); }

    @Test void everyCaseHasItsExpectedResult() throws Exception {
        List<String> wrong = new ArrayList<>();
        for (String[] c : CASES) {
            Spf.Outcome o = ours(c);
            if (!o.result().label().equals(c[3])) wrong.add(String.join(" ", c) + " -> " + o.result().label() + " (" + o.reason() + ")");
        }
        assertThat(wrong).isEmpty();
    }

    @Test void failExplainsWithTheDomainsExpText() throws Exception {
        Spf.Outcome o = spf.checkMailFrom(InetAddress.getByName("192.0.2.1"), "a@exp.test", "h.test");
        assertThat(o.result()).isEqualTo(Spf.Result.FAIL);
        assertThat(o.reason()).isEqualTo("192.0.2.1 is not allowed to send for exp.test");
        assertThat(spf.checkMailFrom(InetAddress.getByName("192.0.2.1"), "a@fail.test", "h.test").reason()).isEmpty();
    }

    @Test void agreesWithPythonSpfOnEveryCase() throws Exception {
        Path script = Files.createTempFile("spf_check", ".py");
        try (var in = SpfTest.class.getResourceAsStream("/interop/spf_check.py")) {
            Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), String.valueOf(dns.address().getPort()))
                .redirectErrorStream(true).start();
        try (Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            for (String[] c : CASES) w.write(c[0] + " " + c[1] + " " + c[2] + "\n");
        }
        List<String> theirs = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).lines().toList();
        assertThat(p.waitFor()).as(String.join("\n", theirs)).isZero();
        assertThat(theirs).hasSize(CASES.length);
        List<String> disagreements = new ArrayList<>();
        for (int i = 0; i < CASES.length; i++) {
            String mine = ours(CASES[i]).result().label();
            if (!mine.equals(theirs.get(i))) disagreements.add(String.join(" ", CASES[i]) + ": postern=" + mine + " pyspf=" + theirs.get(i));
        }
        assertThat(disagreements).isEmpty();
        Files.deleteIfExists(script);
    }

    private static Spf.Outcome ours(String[] c) throws Exception {
        InetAddress ip = InetAddress.getByName(c[0]);
        return c[1].equals("<>") ? spf.checkMailFrom(ip, null, c[2]) : spf.checkMailFrom(ip, c[1], c[2]);
    }
}
