package org.example.postern;

import dev.postern.mail.Reply;
import dev.postern.policy.Check;
import dev.postern.policy.CheckPlugin;
import dev.postern.policy.Facts;
import dev.postern.policy.Verdict;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * An example check plugin: "example_sender_blocklist" refuses senders whose domain is listed in its
 * settings ([plugins.example_sender_blocklist] domains = "spam.example, junk.example"), at MAIL.
 */
public final class SenderBlocklist implements CheckPlugin {
    @Override public Set<String> names() { return Set.of("example_sender_blocklist"); }

    @Override public Check create(String name, Map<String, String> settings) {
        Set<String> domains = Arrays.stream(settings.getOrDefault("domains", "").split(","))
                .map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        String text = settings.getOrDefault("text", "Sender domain refused by local policy");
        return new Check() {
            @Override public String name() { return name; }

            @Override public Verdict check(Facts facts) {
                if (facts.sender() == null || !domains.contains(facts.sender().domain().toLowerCase(Locale.ROOT))) return Verdict.CONTINUE;
                return new Verdict.Reject(name, Reply.of(550, "5.7.1", "<" + facts.sender() + ">: " + text));
            }
        };
    }
}
