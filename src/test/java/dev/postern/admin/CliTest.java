package dev.postern.admin;

import dev.postern.auth.UserStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The administrator's commands: check-config and user management. */
class CliTest {
    @TempDir Path dir;

    record Run(int code, String out, String err) {}

    Run run(String stdin, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
            int code = Cli.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    Path config(String extra) throws Exception {
        Path f = dir.resolve("postern.toml");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(f, "data_dir = \"data\"\ndomains = [\"example.test\"]\n[listeners.smtp]\nbind = \"127.0.0.1:" + port
                + "\"\nkind = \"smtp\"\n" + extra);
        return f;
    }

    @Test void versionNamesTheReleaseAndTheCommit() {
        Run r = run(null, "--version");
        assertThat(r.code()).isZero();
        String pattern = java.nio.file.Files.isDirectory(Path.of(".git"))
                ? "Postern \\d+\\.\\d+\\.\\d+\\S* \\(commit [0-9a-f]{7,}, \\d{4}-\\d\\d-\\d\\d(, with uncommitted changes)?\\)\\s*"
                : "Postern \\S+ \\(commit unknown: not built from a git checkout\\)\\s*";
        assertThat(r.out()).matches(pattern).doesNotContain("${");
    }

    @Test void checkConfigReportsEveryProblemAndExits2() throws Exception {
        Path f = config("[limits]\nmax_recipients = 0\nbogus = 1\n");
        Run r = run(null, "check-config", "--config", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("postern.toml:7: limits.max_recipients: expected a positive integer")
                .contains("postern.toml:8: limits.bogus: unknown key");
        assertThat(run(null, "check-config", "--config", config("").toString()).code()).isZero();
    }

    @Test void serveRefusesABadConfig() throws Exception {
        Run r = run(null, "serve", "--config", config("unknown_thing = 1\n").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown_thing: unknown key");
    }

    @Test void serveRefusesToRunAsRootWithAConfigurationFile() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(RunAs.isRoot(), "the suite runs as root; DebPackageIT covers the other side");
        Run r = run(null, "serve", "--config", config("").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("refusing to run as root").contains("--allow-root");
        assertThat(dir.resolve("data")).doesNotExist(); // refused before anything was written
    }

    @Test void serveRefusesADataDirectoryEveryUserMayWriteTo() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Run r = run(null, "serve", "--allow-root", "--config", config("").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("data directory " + data + " is writable by every user (mode 0777)").contains("chmod o-w");
    }

    @Test void userLifecycle() throws Exception {
        String f = config("").toString();
        assertThat(run("pw1\n", "user", "add", "alice@example.test", "--password-stdin", "--config", f).code()).isZero();
        assertThat(run("pw1\n", "user", "add", "alice@example.test", "--password-stdin", "--config", f).code()).isEqualTo(1);
        Run bad = run("pw\n", "user", "add", "eve@elsewhere.test", "--password-stdin", "--config", f);
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("elsewhere.test is not a local domain");
        assertThat(run("pw\n", "user", "add", "../x@example.test", "--password-stdin", "--config", f).code()).isEqualTo(2);
        assertThat(run(null, "user", "list", "--config", f).out()).isEqualTo("alice@example.test\n");
        assertThat(run("pw2\n", "user", "passwd", "alice@example.test", "--password-stdin", "--config", f).code()).isZero();
        var auth = new dev.postern.auth.Authenticator(new UserStore(dir.resolve("data/users")));
        assertThat(auth.verify(new dev.postern.smtp.sasl.Credentials.Password("alice@example.test", "pw2"))).isNotNull();
        assertThat(run(null, "user", "remove", "alice@example.test", "--config", f).code()).isZero();
        assertThat(run(null, "user", "list", "--config", f).out()).isEmpty();
    }

    @Test void userAddCreatesTheMailboxWithTheConfiguredOwner() throws Exception {
        String f = config("[maildir]\nowner = \"mail:mail\"\n").toString();
        assertThat(run("pw\n", "user", "add", "carol@example.test", "--password-stdin", "--config", f).code()).isZero();
        Path md = dir.resolve("data/mailboxes/example.test/carol/Maildir");
        for (String sub : new String[] {"cur", "new", "tmp"}) {
            Path d = md.resolve(sub);
            assertThat(d).isDirectory();
            assertThat(Files.getOwner(d).getName()).isEqualTo("mail");
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).isEqualTo("rwx------");
        }
        assertThat(Files.getOwner(md.getParent()).getName()).as("the user's directory too").isEqualTo("mail");
        assertThat(Files.getOwner(dir.resolve("data/mailboxes")).getName()).as("not the root of all mailboxes").isNotEqualTo("mail");
    }

    @Test void dnsRecordsPrintsAValidZoneWithTheKeysAndPolicies() throws Exception {
        String f = config("[mta_sts]\nmode = \"enforce\"\nmx = [\"mx.example.test\"]\nmax_age = \"1d\"\n").toString();
        Run ed = run(null, "dkim", "keygen", "example.test", "--selector", "ed", "--config", f);
        Run rsa = run(null, "dkim", "keygen", "example.test", "--selector", "rsa", "--algo", "rsa", "--bits", "1024", "--config", f);
        Run out = run(null, "dns-records", "example.test", "--config", f);
        assertThat(out.code()).as(out.err()).isZero();
        java.util.Map<String, String> txt = new java.util.HashMap<>();
        java.util.List<String> types = new java.util.ArrayList<>();
        try (org.xbill.DNS.Master m = new org.xbill.DNS.Master(new java.io.ByteArrayInputStream(out.out().getBytes(StandardCharsets.UTF_8)))) {
            for (org.xbill.DNS.Record r; (r = m.nextRecord()) != null; ) {
                types.add(r.getName() + " " + org.xbill.DNS.Type.string(r.getType()));
                if (r instanceof org.xbill.DNS.TXTRecord t) txt.put(r.getName().toString(), String.join("", t.getStrings()));
                if (r instanceof org.xbill.DNS.MXRecord mx) assertThat(mx.getPriority()).isEqualTo(10);
            }
        }
        assertThat(types).contains("example.test. MX", "example.test. TXT", "_dmarc.example.test. TXT", "_smtp._tls.example.test. TXT",
                "_mta-sts.example.test. TXT", "mta-sts.example.test. CNAME", "ed._domainkey.example.test. TXT", "rsa._domainkey.example.test. TXT");
        // the keys' records are the ones keygen printed when it made them
        assertThat(ed.out().replaceAll("\\s+", " ")).contains(txt.get("ed._domainkey.example.test."));
        assertThat(rsa.out().replace("\" \"", "").replaceAll("\\s+", " ")).contains(txt.get("rsa._domainkey.example.test."));
        assertThat(txt.get("_mta-sts.example.test.")).matches("v=STSv1; id=[0-9a-f]{20}");
        assertThat(txt.get("example.test.")).isEqualTo("v=spf1 mx -all");
        assertThat(run(null, "dns-records", "elsewhere.test", "--config", f).code()).isEqualTo(2);
    }

    @Test void dkimKeygenWritesAPrivateKeyAndPrintsItsRecord() throws Exception {
        String f = config("").toString();
        for (String algo : new String[]{"ed25519", "rsa"}) {
            Run r = run(null, "dkim", "keygen", "example.test", "--selector", "k" + algo, "--algo", algo, "--config", f);
            assertThat(r.code()).as(r.err()).isZero();
            Path key = dir.resolve("data/dkim/example.test.k" + algo + ".key");
            assertThat(java.nio.file.Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(r.out()).startsWith("k" + algo + "._domainkey.example.test. IN TXT ");
            // the printed record carries the public half of the written key
            String record = r.out().substring(r.out().indexOf('"')).replaceAll("\"\\s*\"|[()\"\\s]", "")
                    .replace("v=DKIM1;", "v=DKIM1; ").replace(";k=", "; k=").replace(";p=", "; p=");
            var published = dev.postern.message.DkimKeys.parseRecord(record);
            assertThat(published.key()).as(record).isNotNull();
            assertThat(published.algorithm()).isEqualTo(algo);
            var priv = dev.postern.message.DkimKeys.readPrivateKey(Files.readString(key));
            var s = java.security.Signature.getInstance(algo.equals("rsa") ? "SHA256withRSA" : "Ed25519");
            s.initSign(priv);
            s.update(new byte[]{1, 2, 3});
            byte[] sig = s.sign();
            s.initVerify(published.key());
            s.update(new byte[]{1, 2, 3});
            assertThat(s.verify(sig)).isTrue();
        }
        Run again = run(null, "dkim", "keygen", "example.test", "--selector", "ked25519", "--config", f);
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("exists (use --force to replace it)");
    }

    @Test void dmarcReportTurnsRecordedRowsIntoAggregateReports() throws Exception {
        String f = config("").toString();
        var clock = java.time.Clock.fixed(java.time.Instant.parse("2026-11-23T12:00:00Z"), java.time.ZoneOffset.UTC);
        var reports = new dev.postern.policy.DmarcReports(dir.resolve("data/dmarc"), clock);
        var rec = java.util.Map.of("p", "reject", "rua", "mailto:agg@partner.test");
        var pass = new dev.postern.policy.Dmarc.Evaluation(dev.postern.policy.Dmarc.Result.PASS, "partner.test", "partner.test",
                dev.postern.policy.Dmarc.Disposition.REJECT, dev.postern.policy.Dmarc.Disposition.NONE, true, true, rec, "");
        var fail = new dev.postern.policy.Dmarc.Evaluation(dev.postern.policy.Dmarc.Result.FAIL, "partner.test", "partner.test",
                dev.postern.policy.Dmarc.Disposition.REJECT, dev.postern.policy.Dmarc.Disposition.REJECT, false, false, rec, "");
        var spfPass = new dev.postern.policy.Spf.Outcome(dev.postern.policy.Spf.Result.PASS, "partner.test", "");
        var spfFail = new dev.postern.policy.Spf.Outcome(dev.postern.policy.Spf.Result.FAIL, "partner.test", "");
        for (int i = 0; i < 3; i++) reports.record("192.0.2.1", pass, "a@partner.test", spfPass, java.util.List.of(java.util.Map.entry("partner.test", "pass")), "none");
        reports.record("198.51.100.9", fail, "spoof@partner.test", spfFail, java.util.List.of(), "reject");

        Run r = run(null, "dmarc", "report", "--day", "2026-11-23", "--config", f);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("4 messages").contains("mailto:agg@partner.test");
        Path gz;
        try (var files = Files.list(dir.resolve("data/dmarc/reports"))) {
            gz = files.findFirst().orElseThrow();
        }
        long begin = java.time.LocalDate.parse("2026-11-23").atStartOfDay(java.time.ZoneOffset.UTC).toEpochSecond();
        assertThat(gz.getFileName().toString()).endsWith("!partner.test!" + begin + "!" + (begin + 86399) + ".xml.gz");
        String xml;
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        var doc = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new java.io.ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        var records = doc.getElementsByTagName("record");
        assertThat(records.getLength()).isEqualTo(2); // the three identical passes are one row
        assertThat(xml).contains("<source_ip>192.0.2.1</source_ip>").contains("<count>3</count>")
                .contains("<disposition>reject</disposition>").contains("<p>reject</p>").contains("<envelope_from>partner.test</envelope_from>");
        assertThat(run(null, "dmarc", "report", "--day", "2026-11-20", "--config", f).code()).isEqualTo(1);
    }
}
