package dev.postern.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RFC 8461 3.2 policy parsing, strict on the fields it defines, and 4.1 MX matching; RFC 6125 certificate names. */
class MtaStsPolicyTest {

    @Test void aPolicyWithCrlfOrLfAndUnknownFieldsParses() {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                + "max_age: 604800\r\nextension: ignored\r\n");
        assertThat(p.mode()).isEqualTo(MtaStsPolicy.Mode.ENFORCE);
        assertThat(p.mx()).containsExactly("mail.example.com", "*.example.net");
        assertThat(p.maxAgeSeconds()).isEqualTo(604800);
        assertThat(MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 0\n").mode()).isEqualTo(MtaStsPolicy.Mode.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "mode: enforce\nmx: a.example\nmax_age: 1\n",                              // no version
            "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",              // another version
            "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",              // case matters
            "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmax_age: 1\n",                             // enforce without mx
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",       // past the limit
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -5\n",
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n", // twice
            "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",
            "<html>not a policy</html>\n",
    })
    void malformedPoliciesAreRefusedWhole(String text) {
        assertThatThrownBy(() -> MtaStsPolicy.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test void mxPatternsMatchExactlyOrOneLabelUnderAWildcard() {
        MtaStsPolicy p = new MtaStsPolicy(MtaStsPolicy.Mode.ENFORCE, List.of("mail.example.com", "*.example.net"), 1);
        assertThat(p.allows("MAIL.example.com.")).isTrue();
        assertThat(p.allows("mx1.example.net")).isTrue();
        assertThat(p.allows("example.net")).isFalse();
        assertThat(p.allows("a.mx1.example.net")).isFalse();
        assertThat(p.allows("evil-example.com")).isFalse();
    }

    @Test void certificateNamesFollowRfc6125() {
        assertThat(CertificateNames.matches("*.example.com", "mx.example.com")).isTrue();
        assertThat(CertificateNames.matches("*.example.com", "a.mx.example.com")).isFalse();
        assertThat(CertificateNames.matches("*.example.com", "example.com")).isFalse();
        assertThat(CertificateNames.matches("*.com", "example.com")).isFalse();
        assertThat(CertificateNames.matches("MX.Example.COM.", "mx.example.com")).isTrue();
    }
}
