package dev.postern.message;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Random header sections (seeded, bounded) through every header parser DKIM, ARC and DMARC use: no exceptions. */
class ParserFuzzTest {
    static final String[] PIECES = {"DKIM-Signature:", "ARC-Seal:", "ARC-Message-Signature:", "ARC-Authentication-Results:", "From:",
            "Authentication-Results:", "Received:", " ", "\t", "\r\n", "\r\n ", "\r\n\r\n", "v=1", "a=rsa-sha256", "a=ed25519-sha256",
            "a=rsa-sha1", "c=relaxed/relaxed", "c=simple", "d=x.test", "s=s1", "h=from:to", "h=", "bh=AAAA", "b=AAAA", "i=1", "i=@x.test",
            "l=5", "l=99999999999999999999", "x=1", "t=2", "cv=pass", "cv=none", ";", "=", ":", "<", ">", "@", "\"", "(", ")", ",",
            "a@b.test", "x.test", "mx.test;", "spf=pass", "\n", "\r"};

    @Test void randomHeaderSectionsNeverThrow() {
        Random random = new Random(11);
        DkimKeys.Resolver keys = name -> name.startsWith("s1.")
                ? new DkimKeys.Lookup(DkimKeys.Lookup.Status.OK, List.of("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="))
                : new DkimKeys.Lookup(DkimKeys.Lookup.Status.NOT_FOUND, List.of());
        int verified = 0;
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + random.nextInt(30);
            for (int j = 0; j < n; j++) sb.append(PIECES[random.nextInt(PIECES.length)]);
            byte[] msg = (sb + "\r\n\r\nbody \t\r\n").getBytes(StandardCharsets.ISO_8859_1);
            HeaderSection h = new HeaderSection();
            int taken = 0;
            for (int off = 0; off < msg.length && !h.complete(); off += 7) taken += h.feed(msg, off, Math.min(7, msg.length - off));
            h.end();
            List<HeaderField> fields = h.fields();
            DkimVerifier v = new DkimVerifier(fields);
            Arc arc = new Arc(fields, true);
            v.body(msg, taken, msg.length - taken);
            arc.body(msg, taken, msg.length - taken);
            verified += v.finish(keys, Instant.EPOCH).size();
            assertThat(arc.validate(keys).status()).isIn("none", "pass", "fail");
            FromDomains.of(fields);
            h.without("Authentication-Results", f -> AuthenticationResults.claims(f, "mx.test"));
            for (HeaderField f : fields) TagList.parse(f.value());
        }
        assertThat(verified).as("some inputs carried signatures to check").isPositive();
    }
}
