package dev.postern.route;

import dev.postern.mail.Address;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Local recipients: sub-addressing (recipient_delimiter) and relay domains. */
class RouterTest {
    private final Set<String> users = Set.of("alice@example.test", "bob@example.test", "carol+lists@example.test");
    private final Router router = new Router(Set.of("example.test"), Set.of("lmtp.test"),
            Map.of("team@example.test", List.of("alice@example.test", "bob@example.test")), users::contains, "mx.example.test", "+-");

    private static Address a(String s) {
        int at = s.indexOf('@');
        return new Address(s.substring(0, at), s.substring(at + 1));
    }

    @Test void anExtensionReachesTheUserAndIsRemembered() {
        assertThat(router.acceptsLocal(a("alice+news@example.test"))).isTrue();
        assertThat(router.acceptsLocal(a("alice-news@example.test"))).as("any of the delimiter characters").isTrue();
        Resolution r = router.resolve(a("alice+news@example.test"));
        assertThat(r.isUnknown()).isFalse();
        assertThat(r.mailboxes()).containsExactly("alice@example.test");
        assertThat(r.extensions()).containsEntry("alice@example.test", "news");
        // the first delimiter splits: alice+a-b has extension "a-b"
        assertThat(router.resolve(a("alice+a-b@example.test")).extensions()).containsEntry("alice@example.test", "a-b");
    }

    @Test void theFullAddressWinsAndUnknownBasesStayUnknown() {
        Resolution full = router.resolve(a("carol+lists@example.test"));
        assertThat(full.mailboxes()).containsExactly("carol+lists@example.test");
        assertThat(full.extensions()).isEmpty();
        assertThat(router.acceptsLocal(a("dave+x@example.test"))).isFalse();
        assertThat(router.resolve(a("dave+x@example.test")).unknown()).isEqualTo("dave+x@example.test");
        assertThat(router.acceptsLocal(a("+x@example.test"))).as("no split at the very start").isFalse();
    }

    @Test void aliasesTakeExtensionsButDoNotPassThemOn() {
        Resolution r = router.resolve(a("team+all@example.test"));
        assertThat(r.mailboxes()).containsExactlyInAnyOrder("alice@example.test", "bob@example.test");
        assertThat(r.extensions()).isEmpty();
    }

    @Test void withoutADelimiterNothingIsStripped() {
        Router plain = new Router(Set.of("example.test"), Map.of(), users::contains, "mx.example.test");
        assertThat(plain.acceptsLocal(a("alice+news@example.test"))).isFalse();
        assertThat(plain.isRelayDomain("lmtp.test")).isFalse();
    }

    @Test void relayDomainsAreNeitherLocalNorUnknown() {
        assertThat(router.isRelayDomain("lmtp.test")).isTrue();
        assertThat(router.isLocalDomain("lmtp.test")).isFalse();
        Resolution r = router.resolve(a("anyone@lmtp.test"));
        assertThat(r.remote()).containsExactly(a("anyone@lmtp.test"));
        assertThat(r.isUnknown()).isFalse();
    }
}
