package dev.postern.e2e;

import dev.postern.config.Config;
import dev.postern.message.DkimKeys;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPF, DKIM and DMARC over a real socket, against a DNS server on loopback; DKIM interop both ways with
 * an independent implementation (Debian's python3-dkim).
 */
class EmailAuthTest {
    static TestDnsServer dns;
    static KeyPair partnerRsa;
    static KeyPair partnerEd;
    static Path scripts;

    @BeforeAll static void zones() throws Exception {
        partnerRsa = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        partnerEd = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        dns = new TestDnsServer().zone(
                "partner.test. IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"",
                "rsa._domainkey.partner.test. IN TXT " + txt(DkimKeys.record(partnerRsa.getPublic())),
                "ed._domainkey.partner.test. IN TXT " + txt(DkimKeys.record(partnerEd.getPublic())),
                "_dmarc.partner.test. IN TXT \"v=DMARC1; p=reject\"",
                "strict.test. IN TXT \"v=spf1 -all\"",
                "_dmarc.strict.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:d@strict.test\"",
                "quar.test. IN TXT \"v=spf1 -all\"",
                "_dmarc.quar.test. IN TXT \"v=DMARC1; p=quarantine\"",
                // an SPF tree: include (no match), a macro exists (matches one local part), then a redirect
                "tree.test. IN TXT \"v=spf1 include:_spf.tree.test exists:%{l}.%{i}.allow.tree.test redirect=_red.tree.test\"",
                "_spf.tree.test. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
                "vip.127.0.0.1.allow.tree.test. IN A 127.0.0.2",
                "_red.tree.test. IN TXT \"v=spf1 -all\"",
                "loop.tree.test. IN TXT \"v=spf1 include:loop.tree.test -all\"");
        scripts = Files.createTempDirectory("interop");
        try (var in = EmailAuthTest.class.getResourceAsStream("/interop/dkim_tool.py")) {
            Files.copy(in, scripts.resolve("dkim_tool.py"));
        }
    }

    @AfterAll static void stop() { dns.close(); }

    /** A TXT record in master-file syntax, split into 255-octet strings. */
    static String txt(String record) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < record.length(); i += 255) out.append('"').append(record, i, Math.min(record.length(), i + 255)).append("\" ");
        return out.toString().trim();
    }

    static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.ISO_8859_1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Config.Delivery delivery() {
        return new Config.Delivery(null, null, null, List.of(dns.address()), 25, "mx.example.test", null, Config.TlsMode.MAY, 20, 100);
    }

    static Config.Auth auth(String quarantine, String forgery) {
        return new Config.Auth("mx.example.test", true, "enforce", quarantine, true, null, forgery, true, false, null);
    }

    /** Verification on, DMARC enforced with a header, and our signing keys in keys. */
    static Config.Auth signingWith(Path keys) {
        return new Config.Auth("mx.example.test", true, "enforce", "header", true, keys, "flag", true, false, null);
    }

    static String python(byte[] stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", scripts.resolve("dkim_tool.py").toString()));
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var out = p.getOutputStream()) {
            out.write(stdin);
        }
        byte[] result = p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).as("python dkim_tool " + String.join(" ", args)).isZero();
        return new String(result, StandardCharsets.ISO_8859_1);
    }

    /** Sends raw message text (CRLF line ends, no final dot); returns the reply to the end of data. */
    static String send(int port, String from, String to, String message) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(port)) {
            c.command("MAIL FROM:<" + from + ">", "250");
            c.command("RCPT TO:<" + to + ">", "250");
            c.command("DATA", "354");
            c.raw(message + ".\r\n");
            return c.reply();
        }
    }

    @Test void mailSignedByDkimpyPassesSpfDkimAndDmarcAndForgedResultsAreRemoved(@TempDir Path tmp) throws Exception {
        Path rsaKey = Files.writeString(tmp.resolve("rsa.pem"), DkimKeys.pem(partnerRsa.getPrivate()));
        byte[] pkcs8 = partnerEd.getPrivate().getEncoded();
        Path edKey = Files.writeString(tmp.resolve("ed.key"), Base64.getEncoder().encodeToString(Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length)));
        String msg = "Authentication-Results: mx.example.test; dkim=pass header.d=bank.test\r\n"
                + "Authentication-Results: other.example; spf=pass\r\n"
                + "From: Pat <pat@partner.test>\r\nTo: alice@example.test\r\nSubject: interop\r\n"
                + "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello from dkimpy  \r\n\r\n";
        String signed = python(msg.getBytes(StandardCharsets.ISO_8859_1), "sign", "rsa", "partner.test", rsaKey.toString(), "rsa-sha256");
        signed = python(signed.getBytes(StandardCharsets.ISO_8859_1), "sign", "ed", "partner.test", edKey.toString(), "ed25519-sha256", "simple/simple");
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test", signed)).startsWith("250 2.0.0");
            String got = Files.readString(server.awaitMail("alice@example.test", 1).get(0), StandardCharsets.ISO_8859_1);
            String ar = got.substring(got.indexOf("Authentication-Results: mx.example.test;"), got.indexOf("Received:"));
            assertThat(ar).contains("spf=pass smtp.mailfrom=pat@partner.test").contains("spf=none smtp.helo=client.example")
                    .contains("dkim=pass header.d=partner.test header.i=@partner.test header.s=ed header.a=ed25519-sha256")
                    .contains("dkim=pass header.d=partner.test header.i=@partner.test header.s=rsa header.a=rsa-sha256")
                    .contains("dmarc=pass header.from=partner.test policy.dmarc=reject");
            assertThat(got.split("Authentication-Results: mx.example.test", -1)).as("the forged field is gone").hasSize(2);
            assertThat(got).doesNotContain("header.d=bank.test").contains("Authentication-Results: other.example; spf=pass");
            // our field is on top, above our own Received
            assertThat(got.indexOf("Authentication-Results: mx.example.test")).isLessThan(got.indexOf("Received: from"));
        }
    }

    @Test void dmarcRejectRefusesAndRecordsReportData() throws Exception {
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            String reply = send(server.smtp(), "news@strict.test", "alice@example.test",
                    "From: news@strict.test\r\nTo: alice@example.test\r\nSubject: spoof\r\n\r\nx\r\n");
            assertThat(reply).isEqualTo("550 5.7.1 Message rejected per the DMARC policy of strict.test");
            server.awaitQueueIdle();
            assertThat(server.maildir("alice@example.test").resolve("new")).as("nothing delivered").doesNotExist();
            assertThat(server.server.queue().list()).isEmpty();
            Path reports = server.config.dataDir().resolve("dmarc");
            String rows = Files.readString(TestServer.list(reports).get(0));
            assertThat(rows).contains("\"header_from\":\"strict.test\"").contains("\"disposition\":\"reject\"")
                    .contains("\"spf\":\"fail\"").contains("\"rua\":\"mailto:d@strict.test\"").contains("\"source_ip\":\"127.0.0.1\"");
            assertThat(server.metrics()).contains("postern_auth_results_total{method=\"dmarc\",result=\"fail\"} 1\n")
                    .contains("postern_auth_results_total{method=\"spf\",result=\"fail\"} 1\n")
                    .contains("postern_auth_results_total{method=\"dkim\",result=\"none\"} 1\n");
        }
    }

    @Test void dmarcQuarantineAddsAHeaderOrHoldsTheMessage() throws Exception {
        String msg = "From: q@quar.test\r\nTo: alice@example.test\r\nSubject: q\r\n\r\nx\r\n";
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            assertThat(send(server.smtp(), "q@quar.test", "alice@example.test", msg)).startsWith("250 2.0.0");
            assertThat(Files.readString(server.awaitMail("alice@example.test", 1).get(0)))
                    .contains("X-Postern-Quarantine: DMARC policy of quar.test").contains("dmarc=fail reason=\"p=quarantine\"");
        }
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("hold", "flag")).start()) {
            assertThat(send(server.smtp(), "q@quar.test", "alice@example.test", msg)).startsWith("250 2.0.0");
            Thread.sleep(300);
            assertThat(server.maildir("alice@example.test").resolve("new")).doesNotExist();
            assertThat(server.server.queue().list()).singleElement().satisfies(m -> assertThat(m.held()).isTrue());
        }
    }

    @Test void spfFailRejectedAtRcptWhenConfigured() throws Exception {
        Config.Policy p = new Config.Policy(java.util.Map.of("rcpt", List.of("permit_mynetworks", "reject_unauth_destination", "reject_spf_fail")),
                java.util.Set.of(), java.util.Map.of(), 1, java.util.Map.of());
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).policy(p).start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<news@strict.test>", "250");
            assertThat(c.command("RCPT TO:<alice@example.test>", "550"))
                    .isEqualTo("550 5.7.23 SPF validation failed: strict.test does not allow 127.0.0.1 to send its mail");
            assertThat(server.metrics())
                    .contains("postern_policy_refusals_total{check=\"reject_spf_fail\",action=\"reject\"} 1\n");
            c.command("RSET", "250");
            c.command("MAIL FROM:<pat@partner.test>", "250");
            c.command("RCPT TO:<alice@example.test>", "250");
        }
    }

    @Test void receivedFieldsClaimingThisHostAreFlaggedOrRefused() throws Exception {
        String msg = "Received: from evil.test by mx.example.test (Postern) with ESMTP id 1\r\n"
                + "From: pat@partner.test\r\nSubject: trace\r\n\r\nx\r\n";
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test", msg)).startsWith("250 2.0.0");
            assertThat(Files.readString(server.awaitMail("alice@example.test", 1).get(0)))
                    .contains("X-Postern-Warning: a Received field claims this message passed through mx.example.test");
            // a longer name that merely starts with ours is someone else
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test",
                    msg.replace("by mx.example.test ", "by mx.example.test.elsewhere.net "))).startsWith("250 2.0.0");
            List<Path> both = server.awaitMail("alice@example.test", 2);
            assertThat(both).hasSize(2);
            assertThat(both).filteredOn(f -> read(f).contains("X-Postern-Warning")).hasSize(1);
        }
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "reject")).start()) {
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test", msg))
                    .isEqualTo("550 5.7.1 Message refused: a Received field claims it passed through mx.example.test");
        }
    }

    @Test void submittedMailIsSignedAndVerifiesWithDkimpy(@TempDir Path keys) throws Exception {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        KeyPair rsa = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        Files.writeString(keys.resolve("example.test.s1.key"), DkimKeys.pem(ed.getPrivate()));
        Files.writeString(keys.resolve("example.test.r1.key"), DkimKeys.pem(rsa.getPrivate()));
        dns.zone("s1._domainkey.example.test. IN TXT " + txt(DkimKeys.record(ed.getPublic())),
                "r1._domainkey.example.test. IN TXT " + txt(DkimKeys.record(rsa.getPublic())));
        Config.Auth a = signingWith(keys);
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(a).start();
             SmtpClient c = SmtpClient.ehlo(server.submission())) {
            c.startTls();
            c.command("EHLO client.example", "250");
            c.authPlain("alice@example.test", TestServer.PASSWORD, "235 2.7.0");
            assertThat(c.sendMail("alice@example.test", "bob@example.test",
                    "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: signed\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nhi  bob\r\n")).startsWith("250 2.0.0");
            String got = Files.readString(server.awaitMail("bob@example.test", 1).get(0), StandardCharsets.ISO_8859_1);
            assertThat(got).contains("a=ed25519-sha256").contains("a=rsa-sha256").contains("d=example.test; s=s1")
                    .doesNotContain("Authentication-Results"); // our own users' mail is signed, not judged
            // delivered with LF line ends (Maildir); put the wire form back for the verifier
            String wire = got.replace("\n", "\r\n");
            assertThat(python(wire.getBytes(StandardCharsets.ISO_8859_1), "verify", String.valueOf(dns.address().getPort())).lines().toList())
                    .containsExactly("pass", "pass");
        }
    }

    @Test void arcChainFromDkimpyValidatesAndOurSealValidatesWithDkimpy(@TempDir Path keys) throws Exception {
        Path partnerKey = Files.writeString(keys.resolve("partner.pem"), DkimKeys.pem(partnerRsa.getPrivate()));
        // a mailing list at partner.test checked the mail, recorded its results, and sealed it (ARC i=1)
        String original = "Authentication-Results: lists.partner.test; spf=pass smtp.mailfrom=someone@elsewhere.test\r\n"
                + "From: someone@elsewhere.test\r\nTo: list@partner.test\r\nSubject: [list] hello\r\n"
                + "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nlist mail\r\n";
        String sealed = python(original.getBytes(StandardCharsets.ISO_8859_1), "arcsign", "rsa", "partner.test", partnerKey.toString(), "lists.partner.test");
        assertThat(sealed).startsWith("ARC-Seal: i=1;");

        KeyPair ours = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        Path keyDir = Files.createDirectories(keys.resolve("dkim"));
        Files.writeString(keyDir.resolve("example.test.arc.key"), DkimKeys.pem(ours.getPrivate()));
        dns.zone("arc._domainkey.example.test. IN TXT " + txt(DkimKeys.record(ours.getPublic())));
        Config.Auth a = new Config.Auth("mx.example.test", true, "enforce", "header", true, keyDir, "flag", true, true, "example.test");
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(a).start()) {
            assertThat(send(server.smtp(), "list-bounces@partner.test", "alice@example.test", sealed)).startsWith("250 2.0.0");
            assertThat(send(server.smtp(), "list-bounces@partner.test", "alice@example.test",
                    sealed.replace("list mail", "altered mail"))).startsWith("250 2.0.0");
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test",
                    "From: pat@partner.test\r\nTo: alice@example.test\r\nSubject: direct\r\n\r\nno chain yet\r\n")).startsWith("250 2.0.0");
            List<String> got = new ArrayList<>();
            for (Path p : server.awaitMail("alice@example.test", 3)) got.add(Files.readString(p, StandardCharsets.ISO_8859_1));
            String intact = got.stream().filter(m -> m.contains("\nlist mail")).findFirst().orElseThrow();
            String altered = got.stream().filter(m -> m.contains("altered mail")).findFirst().orElseThrow();
            String direct = got.stream().filter(m -> m.contains("no chain yet")).findFirst().orElseThrow();
            assertThat(intact).contains("arc=pass header.i=1").contains("ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=example.test; s=arc;");
            assertThat(altered).contains("arc=fail reason=\"ARC-Message-Signature i=1: body hash did not verify\"").doesNotContain("ARC-Seal: i=2");
            assertThat(direct).contains("arc=none").contains("ARC-Seal: i=1; a=rsa-sha256; cv=none;");
            String port = String.valueOf(dns.address().getPort());
            assertThat(python(intact.replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1), "arcverify", port)).startsWith("pass");
            assertThat(python(direct.replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1), "arcverify", port)).startsWith("pass");
        }
    }

    @Test void spfTreesOverTheSocket() throws Exception {
        Config.Policy p = new Config.Policy(java.util.Map.of("rcpt", List.of("reject_unauth_destination", "reject_spf_fail")),
                java.util.Set.of(), java.util.Map.of(), 1, java.util.Map.of());
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).policy(p).start()) {
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<other@tree.test>", "250");
                assertThat(c.command("RCPT TO:<alice@example.test>", "550")).isEqualTo("550 5.7.23 SPF validation failed: tree.test does not allow 127.0.0.1 to send its mail");
            }
            assertThat(send(server.smtp(), "vip@tree.test", "alice@example.test", "From: vip@tree.test\r\n\r\nx\r\n")).startsWith("250 2.0.0");
            assertThat(send(server.smtp(), "x@loop.tree.test", "alice@example.test", "From: x@loop.tree.test\r\n\r\ny\r\n")).startsWith("250 2.0.0");
            List<String> got = new ArrayList<>();
            for (Path f : server.awaitMail("alice@example.test", 2)) got.add(Files.readString(f));
            assertThat(got).anySatisfy(m -> assertThat(m).contains("spf=pass smtp.mailfrom=vip@tree.test"));
            assertThat(got).anySatisfy(m -> assertThat(m).contains("spf=permerror reason=\"more than 10 DNS-querying terms\" smtp.mailfrom=x@loop.tree.test"));
        }
    }

    @Test void malformedAuthenticationFieldsNeverStallOrLoseTheSession() throws Exception {
        List<String> nasty = new ArrayList<>(List.of(
                "DKIM-Signature: garbage",
                "DKIM-Signature: v=1; a=rsa-sha256; b=;;;; bh===",
                "DKIM-Signature: v=1; a=ed25519-sha256; d=partner.test; s=ed; h=from; bh=AAAA; b=AAAA; l=99999999999999999999999",
                "DKIM-Signature: v=1; a=rsa-sha256; d=partner.test; s=rsa; h=from; bh=x; b=y; x=1; t=2",
                "DKIM-Signature: v=1; a=rsa-sha256; d=.; s=..; h=; bh=; b=; i=@",
                "ARC-Seal: i=999; cv=pass",
                "ARC-Seal: i=abc",
                "ARC-Authentication-Results: i=1",
                "ARC-Message-Signature: i=1; a=rsa-sha256; d=partner.test; s=rsa; h=arc-seal; bh=AAAA; b=AAAA",
                "Authentication-Results: mx.example.test",
                "Authentication-Results: ;;;",
                "From: <<<@@@>>>, \"unterminated",
                "From:",
                "From: (comment (nested) a@b.test"));
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 30; i++) {
            StringBuilder v = new StringBuilder();
            String alphabet = "=;:@<>()\" \tabc=ivxsb0123";
            for (int j = 0; j < random.nextInt(80); j++) v.append(alphabet.charAt(random.nextInt(alphabet.length())));
            String[] names = {"DKIM-Signature", "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results", "From", "Authentication-Results"};
            nasty.add(names[random.nextInt(names.length)] + ": " + v);
        }
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            for (String field : nasty) {
                String reply = send(server.smtp(), "pat@partner.test", "alice@example.test", field + "\r\nSubject: x\r\n\r\nbody\r\n");
                assertThat(reply).as(field).startsWith("250 2.0.0");
            }
            assertThat(server.awaitMail("alice@example.test", nasty.size())).hasSize(nasty.size());
        }
    }

    @Test void aKeyMadeWhileRunningSignsAfterReload(@TempDir Path keys) throws Exception {
        Config.Auth a = signingWith(keys);
        String msg = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: k\r\n\r\nx\r\n";
        try (TestServer server = TestServer.builder().delivery(delivery()).relayNetworks("127.0.0.1/32").auth(a).start()) {
            assertThat(send(server.smtp(), "alice@example.test", "bob@example.test", msg)).startsWith("250 2.0.0");
            assertThat(read(server.awaitMail("bob@example.test", 1).get(0))).doesNotContain("DKIM-Signature");
            KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            Files.writeString(keys.resolve("example.test.new.key"), DkimKeys.pem(ed.getPrivate()));
            server.server.reloadTables(); // what SIGHUP and POST /policy/reload run
            assertThat(send(server.smtp(), "alice@example.test", "bob@example.test", msg)).startsWith("250 2.0.0");
            assertThat(server.awaitMail("bob@example.test", 2)).filteredOn(f -> read(f).contains("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=new;")).hasSize(1);
        }
    }

    @Test void oversizedOrEndlessHeaderSectionsArriveIntact() throws Exception {
        StringBuilder big = new StringBuilder("From: pat@partner.test\r\n");
        for (int i = 0; i < 4000; i++) big.append("X-Pad-").append(i).append(": ").append("p".repeat(70)).append("\r\n"); // ~330 KiB
        String huge = big + "\r\nthe body\r\n";
        String noBody = "From: pat@partner.test\r\nSubject: only headers\r\n";
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            assertThat(send(server.smtp(), "pat@partner.test", "alice@example.test", huge)).startsWith("250 2.0.0");
            assertThat(send(server.smtp(), "pat@partner.test", "bob@example.test", noBody)).startsWith("250 2.0.0");
            String got = read(server.awaitMail("alice@example.test", 1).get(0)).replace("\n", "\r\n");
            assertThat(got).endsWith(huge).contains("dkim=none");
            assertThat(read(server.awaitMail("bob@example.test", 1).get(0)).replace("\n", "\r\n")).endsWith(noBody);
        }
    }

    @Test void bouncesWeWriteAreSignedForOurDomain(@TempDir Path keys) throws Exception {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Files.writeString(keys.resolve("example.test.notice.key"), DkimKeys.pem(ed.getPrivate()));
        dns.zone("notice._domainkey.example.test. IN TXT " + txt(DkimKeys.record(ed.getPublic())),
                "nullmx.test. IN MX 0 .");
        Config.Auth a = signingWith(keys);
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(a).start();
             SmtpClient c = SmtpClient.ehlo(server.submission())) {
            c.startTls();
            c.command("EHLO client.example", "250");
            c.authPlain("alice@example.test", TestServer.PASSWORD, "235");
            // a null MX (RFC 7505) bounces at once
            assertThat(c.sendMail("alice@example.test", "nobody@nullmx.test", "From: alice@example.test\r\nSubject: doomed\r\n\r\nx\r\n"))
                    .startsWith("250 2.0.0");
            String bounce = read(server.awaitMail("alice@example.test", 1).get(0));
            assertThat(bounce).contains("From: MAILER-DAEMON@mx.example.test").contains("d=example.test; s=notice;");
            String verdict = python(bounce.replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1), "verify", String.valueOf(dns.address().getPort()));
            assertThat(verdict.lines().toList()).containsExactly("pass");
        }
    }

    @Test void aggregateReportsAreMailedToPermittedRuaAddresses() throws Exception {
        dns.zone("reporting.test. IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"",
                "_dmarc.reporting.test. IN TXT \"v=DMARC1; p=none; rua=mailto:bob@example.test!10m,mailto:dmarc@unauthorized.test\"",
                // RFC 7489 7.1: example.test agrees to receive reporting.test's reports
                "reporting.test._report._dmarc.example.test. IN TXT \"v=DMARC1\"");
        try (TestServer server = TestServer.builder().delivery(delivery()).auth(auth("header", "flag")).start()) {
            assertThat(send(server.smtp(), "news@reporting.test", "alice@example.test",
                    "From: news@reporting.test\r\nSubject: hi\r\n\r\nx\r\n")).startsWith("250 2.0.0");
            server.awaitMail("alice@example.test", 1);
            String port = Files.readString(server.config.adminPortFile()).strip();
            String token = Files.readString(server.config.adminTokenFile()).strip();
            String day = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
            var answer = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + port + "/dmarc/send?day=" + day))
                    .header("Authorization", "Bearer " + token).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.body()).contains("to bob@example.test for reporting.test (1 messages)").doesNotContain("unauthorized.test");
            String report = read(server.awaitMail("bob@example.test", 1).get(0));
            assertThat(report).contains("Subject: Report Domain: reporting.test Submitter: mx.example.test Report-ID: <")
                    .contains("Content-Type: application/gzip");
            String b64 = report.substring(report.indexOf("Content-Disposition: attachment"));
            b64 = b64.substring(b64.indexOf("\n\n") + 2, b64.indexOf("\n--"));
            byte[] gz = java.util.Base64.getMimeDecoder().decode(b64);
            String xml = new String(new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz)).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(xml).contains("<header_from>reporting.test</header_from>").contains("<count>1</count>")
                    .contains("<spf><domain>reporting.test</domain><result>pass</result></spf>");
        }
    }
}
