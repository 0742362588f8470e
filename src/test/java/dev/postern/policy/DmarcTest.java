package dev.postern.policy;

import dev.postern.route.DnsjavaDns;
import dev.postern.testing.TestDnsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 7489 policy discovery and alignment against a loopback DNS server. */
class DmarcTest {
    static TestDnsServer dns;
    static final AtomicInteger sample = new AtomicInteger();
    static Dmarc dmarc;

    @BeforeAll static void zones() throws Exception {
        dns = new TestDnsServer().zone(
                "_dmarc.example.co.uk. IN TXT \"v=DMARC1; p=reject; sp=quarantine; adkim=s\"",
                "mail.example.co.uk. IN A 192.0.2.1",
                "_dmarc.relaxed.test. IN TXT \"v=DMARC1; p=quarantine; pct=30\"",
                "_dmarc.np.test. IN TXT \"v=DMARC1; p=none; np=reject\"",
                "exists.np.test. IN A 192.0.2.2",
                "_dmarc.two.test. IN TXT \"v=DMARC1; p=reject\"",
                "_dmarc.two.test. IN TXT \"v=DMARC1; p=none\"",
                "_dmarc.nop.test. IN TXT \"v=DMARC1; rua=mailto:r@nop.test\"",
                "_dmarc.other.test. IN TXT \"v=spf1 -all\"");
        dns.servfail("_dmarc.broken.test");
        dmarc = new Dmarc(new DnsjavaDns(List.of(dns.address()), Duration.ofSeconds(2)), sample::get);
    }

    @AfterAll static void stop() { dns.close(); }

    @Test void organizationalDomainsComeFromThePublicSuffixList() {
        assertThat(Dmarc.organizationalDomain("mail.example.co.uk")).isEqualTo("example.co.uk");
        assertThat(Dmarc.organizationalDomain("a.b.example.com")).isEqualTo("example.com");
        assertThat(Dmarc.organizationalDomain("x.y.example.test")).isEqualTo("example.test"); // unlisted TLD: the "*" rule
    }

    @Test void subdomainPolicyAndStrictDkimAlignment() {
        // the From domain has no record: the organizational domain's sp applies
        Dmarc.Evaluation e = dmarc.evaluate("mail.example.co.uk", null, List.of("example.co.uk"));
        assertThat(e.result()).isEqualTo(Dmarc.Result.FAIL); // adkim=s: example.co.uk is not mail.example.co.uk
        assertThat(e.policyDomain()).isEqualTo("example.co.uk");
        assertThat(e.disposition()).isEqualTo(Dmarc.Disposition.QUARANTINE);
        // relaxed SPF alignment: a subdomain of the same organization passes
        assertThat(dmarc.evaluate("mail.example.co.uk", "bounces.example.co.uk", List.of()).result()).isEqualTo(Dmarc.Result.PASS);
        assertThat(dmarc.evaluate("example.co.uk", null, List.of("example.co.uk")).dkimAligned()).isTrue();
        assertThat(dmarc.evaluate("example.co.uk", "example.com", List.of("evil.test")).disposition()).isEqualTo(Dmarc.Disposition.REJECT);
    }

    @Test void pctSamplesAndOutOfSampleGetsTheWeakerPolicy() {
        sample.set(10);
        assertThat(dmarc.evaluate("relaxed.test", null, List.of()).disposition()).isEqualTo(Dmarc.Disposition.QUARANTINE);
        sample.set(50);
        Dmarc.Evaluation e = dmarc.evaluate("relaxed.test", null, List.of());
        assertThat(e.policy()).isEqualTo(Dmarc.Disposition.QUARANTINE);
        assertThat(e.disposition()).isEqualTo(Dmarc.Disposition.NONE);
        sample.set(0);
    }

    @Test void npAppliesToSubdomainsThatDoNotExist() {
        assertThat(dmarc.evaluate("ghost.np.test", null, List.of()).disposition()).isEqualTo(Dmarc.Disposition.REJECT);
        assertThat(dmarc.evaluate("exists.np.test", null, List.of()).disposition()).isEqualTo(Dmarc.Disposition.NONE);
    }

    @Test void noUsableRecordOrDnsFailure() {
        assertThat(dmarc.evaluate("two.test", null, List.of()).result()).isEqualTo(Dmarc.Result.NONE);
        assertThat(dmarc.evaluate("other.test", null, List.of()).result()).isEqualTo(Dmarc.Result.NONE);
        assertThat(dmarc.evaluate("nowhere.test", null, List.of()).result()).isEqualTo(Dmarc.Result.NONE);
        assertThat(dmarc.evaluate("broken.test", null, List.of()).result()).isEqualTo(Dmarc.Result.TEMPERROR);
        // RFC 7489 6.6.3: an invalid p= with rua is read as p=none
        Dmarc.Evaluation e = dmarc.evaluate("nop.test", null, List.of());
        assertThat(e.result()).isEqualTo(Dmarc.Result.FAIL);
        assertThat(e.disposition()).isEqualTo(Dmarc.Disposition.NONE);
    }
}
