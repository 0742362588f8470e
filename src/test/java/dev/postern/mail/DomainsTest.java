package dev.postern.mail;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Domain syntax (RFC 5321 4.1.2), checked label by label: the same answers as the regular expression it replaced. */
class DomainsTest {
    /** The check as it was written before, kept here as the reference. */
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private static boolean reference(String domain, boolean allowUtf8) {
        if (domain.isEmpty() || domain.length() > 255) return false;
        if (domain.startsWith("[")) return Domains.isAddressLiteral(domain);
        for (String label : domain.split("\\.", -1)) {
            if (allowUtf8 && label.chars().anyMatch(c -> c >= 0x80)) {
                if (label.isEmpty() || label.length() > 63) return false;
                continue;
            }
            if (!LABEL.matcher(label).matches()) return false;
        }
        return true;
    }

    @Test void namedCasesAnswerAsTheRfcSays() {
        assertThat(Domains.isValid("example.test", false)).isTrue();
        assertThat(Domains.isValid("a-b.c0.example", false)).isTrue();
        assertThat(Domains.isValid("x", false)).isTrue();
        assertThat(Domains.isValid("a".repeat(63) + ".test", false)).isTrue();
        assertThat(Domains.isValid("a".repeat(64) + ".test", false)).as("a label of 64 octets").isFalse();
        assertThat(Domains.isValid("-a.test", false)).isFalse();
        assertThat(Domains.isValid("a-.test", false)).isFalse();
        assertThat(Domains.isValid("a..test", false)).isFalse();
        assertThat(Domains.isValid(".test", false)).isFalse();
        assertThat(Domains.isValid("test.", false)).isFalse();
        assertThat(Domains.isValid("a_b.test", false)).isFalse();
        assertThat(Domains.isValid("bücher.test", false)).isFalse();
        assertThat(Domains.isValid("bücher.test", true)).as("SMTPUTF8").isTrue();
        assertThat(Domains.isValid("[192.0.2.1]", false)).isTrue();
        assertThat(Domains.isValid("[192.0.2.256]", false)).isFalse();
    }

    @Test void agreesWithTheRegularExpressionOnRandomNames() {
        Random random = new Random(5321);
        String alphabet = "ab-.0Z_ü.";
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(i % 100 == 0 ? 300 : 12);
            for (int k = 0; k < length; k++) sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            names.add(sb.toString());
        }
        names.add("a".repeat(63));
        names.add("a".repeat(64));
        for (String n : names) {
            for (boolean utf8 : new boolean[] {false, true}) {
                assertThat(Domains.isValid(n, utf8)).as("%s (utf8 %s)", n, utf8).isEqualTo(reference(n, utf8));
            }
        }
    }
}
