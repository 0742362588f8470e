package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Reply;
import dev.postern.route.Router;
import dev.postern.testing.MutableClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * reject_unverified_recipient's decisions and cache; the probes themselves are exercised against Dovecot in
 * e2e.DovecotTest. Here a probe is a function whose answers the test sets, so that time can be moved.
 */
class RecipientVerifierTest {
    @TempDir Path dir;
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-02T00:00:00Z"));
    private final Router router = new Router(Set.of("example.test"), Set.of("lmtp.test"), Map.of(), a -> false, "mx.example.test", "");
    private final Map<String, CompletableFuture<Reply>> answers = new ConcurrentHashMap<>();
    private final AtomicInteger probes = new AtomicInteger();

    private RecipientVerifier verifier(Duration timeout) throws IOException {
        return new RecipientVerifier(router, a -> {
            probes.incrementAndGet();
            return answers.computeIfAbsent(a.key(), k -> new CompletableFuture<>());
        }, clock, Duration.ofDays(1), Duration.ofHours(1), timeout, dir.resolve("verify.db"));
    }

    private static Facts rcpt(String address) throws Exception {
        int at = address.indexOf('@');
        return new Facts(Phase.RCPT, InetAddress.getByName("192.0.2.1"), "unknown", "client.test", null, null, true, null)
                .withRecipient(new Address(address.substring(0, at), address.substring(at + 1)));
    }

    private void answer(String address, int code, String enhanced, String text) {
        answers.computeIfAbsent(address, k -> new CompletableFuture<>()).complete(Reply.of(code, enhanced, text));
    }

    @Test void answersAreKeptForTheirTimeAndProbesForOneAddressAreShared() throws Exception {
        RecipientVerifier v = verifier(Duration.ofSeconds(30));
        CompletableFuture<Verdict> first = v.checkAsync(rcpt("alice@lmtp.test"));
        CompletableFuture<Verdict> second = v.checkAsync(rcpt("alice@lmtp.test"));
        assertThat(first).isNotDone();
        assertThat(probes).as("one probe for both RCPTs").hasValue(1);
        answer("alice@lmtp.test", 250, "2.1.5", "host unix:/lmtp said: 250 2.1.5 OK");
        assertThat(first.join()).isEqualTo(Verdict.CONTINUE);
        assertThat(second.join()).isEqualTo(Verdict.CONTINUE);

        answer("nobody@lmtp.test", 550, "5.1.1", "host unix:/lmtp said: 550 5.1.1 User doesn't exist");
        Verdict no = v.checkAsync(rcpt("nobody@lmtp.test")).join();
        assertThat(no).isInstanceOf(Verdict.Reject.class);
        assertThat(((Verdict.Reject) no).reply().code()).isEqualTo(550);
        assertThat(((Verdict.Reject) no).reply().enhanced()).isEqualTo("5.1.1");
        assertThat(((Verdict.Reject) no).reply().lines().get(0)).contains("undeliverable address").contains("User doesn't exist");
        assertThat(probes).hasValue(2);

        answers.clear();
        clock.advance(Duration.ofMinutes(59));
        assertThat(v.checkAsync(rcpt("nobody@lmtp.test")).join()).isInstanceOf(Verdict.Reject.class);
        assertThat(v.checkAsync(rcpt("alice@lmtp.test")).join()).isEqualTo(Verdict.CONTINUE);
        assertThat(probes).as("both from the cache").hasValue(2);
        clock.advance(Duration.ofMinutes(2)); // the negative answer has expired, the positive one not
        assertThat(v.checkAsync(rcpt("alice@lmtp.test")).join()).isEqualTo(Verdict.CONTINUE);
        assertThat(v.checkAsync(rcpt("nobody@lmtp.test"))).isNotDone();
        assertThat(probes).hasValue(3);
        assertThat(v.stats()).containsEntry("postern_verify_probes_total", 3L).containsEntry("postern_verify_cache_hits_total", 3L);
    }

    @Test void aProbeThatCannotCompleteDefersAndIsNotKept() throws Exception {
        RecipientVerifier v = verifier(Duration.ofMillis(200));
        answer("bob@lmtp.test", 451, "4.4.1", "connect to unix:/lmtp failed: connection refused");
        Verdict d = v.checkAsync(rcpt("bob@lmtp.test")).join();
        assertThat(d).isInstanceOf(Verdict.Defer.class);
        assertThat(((Verdict.Defer) d).reply().format(true)).startsWith("450 4.1.1 <bob@lmtp.test>: Recipient address rejected: unverified address");
        // a probe that never answers ends at the time limit
        Verdict slow = v.checkAsync(rcpt("carol@lmtp.test")).join();
        assertThat(((Verdict.Defer) slow).reply().lines().get(0)).contains("timed out");
        answers.clear();
        answer("bob@lmtp.test", 250, "2.1.5", "ok");
        assertThat(v.checkAsync(rcpt("bob@lmtp.test")).join()).as("asked again: 4xx was not kept").isEqualTo(Verdict.CONTINUE);
    }

    @Test void onlyRelayDomainsAreProbed() throws Exception {
        RecipientVerifier v = verifier(Duration.ofSeconds(1));
        assertThat(v.checkAsync(rcpt("alice@example.test")).join()).isEqualTo(Verdict.CONTINUE);
        assertThat(v.checkAsync(rcpt("x@elsewhere.test")).join()).isEqualTo(Verdict.CONTINUE);
        assertThat(probes).hasValue(0);
    }

    @Test void answersSurviveARestartAndAnUnknownFormatRefusesToStart() throws Exception {
        RecipientVerifier v = verifier(Duration.ofSeconds(1));
        answer("alice@lmtp.test", 250, "2.1.5", "ok");
        answer("nobody@lmtp.test", 550, "5.1.1", "no\tsuch user");
        v.checkAsync(rcpt("alice@lmtp.test")).join();
        v.checkAsync(rcpt("nobody@lmtp.test")).join();
        v.save();
        List<String> lines = Files.readAllLines(dir.resolve("verify.db"));
        assertThat(lines.get(0)).isEqualTo("postern-verify 1");
        assertThat(lines).hasSize(3);

        answers.clear();
        RecipientVerifier again = verifier(Duration.ofSeconds(1));
        assertThat(again.checkAsync(rcpt("alice@lmtp.test")).join()).isEqualTo(Verdict.CONTINUE);
        assertThat(again.checkAsync(rcpt("nobody@lmtp.test")).join()).isInstanceOf(Verdict.Reject.class);
        assertThat(probes).hasValue(2);

        Files.writeString(dir.resolve("verify.db"), "postern-verify 2\nx@lmtp.test\t250\t99999999999999\tok\n");
        assertThatThrownBy(() -> verifier(Duration.ofSeconds(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("unknown format \"postern-verify 2\"");
        assertThat(Files.readString(dir.resolve("verify.db"))).as("left as it was").startsWith("postern-verify 2");
    }
}
