package dev.postern.message;

import dev.postern.mail.ContentSigner;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Set;

/**
 * DKIM for what the server writes itself: a delivery notice from MAILER-DAEMON@mx.example.test is signed with
 * the keys of mx.example.test or, failing those, of the nearest parent that is a local domain with keys
 * (example.test), which DMARC's relaxed alignment accepts.
 */
public final class DkimContentSigner implements ContentSigner {
    private final DkimKeyring keys;
    private final Set<String> localDomains;
    private final Clock clock;

    public DkimContentSigner(DkimKeyring keys, Set<String> localDomains, Clock clock) {
        this.keys = keys;
        this.localDomains = localDomains;
        this.clock = clock;
    }

    @Override public Session begin() {
        HeaderSection header = new HeaderSection();
        BodyHasher body = DkimSigner.bodyHasher();
        return new Session() {
            @Override public void update(byte[] b, int off, int len) {
                int taken = header.complete() ? 0 : header.feed(b, off, len);
                if (len > taken) body.update(b, off + taken, len - taken);
            }

            @Override public byte[] finish() {
                header.end();
                List<String> from = FromDomains.of(header.fields());
                if (from.size() != 1) return new byte[0];
                List<DkimSigner.Key> signing = keysFor(from.get(0));
                if (signing.isEmpty()) return new byte[0];
                return DkimSigner.signAll(header.fields(), body.finish(), signing, clock.instant().getEpochSecond())
                        .getBytes(StandardCharsets.ISO_8859_1);
            }
        };
    }

    private List<DkimSigner.Key> keysFor(String domain) {
        for (String d = domain; d.contains("."); d = d.substring(d.indexOf('.') + 1)) {
            if (localDomains.contains(d) && !keys.forDomain(d).isEmpty()) return keys.forDomain(d);
        }
        return List.of();
    }
}
