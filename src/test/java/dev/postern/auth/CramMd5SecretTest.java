package dev.postern.auth;

import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class CramMd5SecretTest {

    @Test void rfc2195Example() {
        // RFC 2195 section 2: password "tanstaaftanstaaf"
        CramMd5Secret s = CramMd5Secret.derive("tanstaaftanstaaf");
        assertThat(s.hmacHex("<1896.697170952@postoffice.reston.mci.net>".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo("b913a602c7eda7a495b4e6e7334d3890");
    }

    @Test void matchesJdkHmacForShortAndLongKeysAndSurvivesEncoding() throws Exception {
        for (String pw : new String[] {"", "x", "correct horse", "p".repeat(64), "q".repeat(200), "pässwörd"}) {
            Mac mac = Mac.getInstance("HmacMD5");
            byte[] key = pw.getBytes(StandardCharsets.UTF_8);
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacMD5"));
            byte[] msg = ("<challenge." + pw.length() + "@host>").getBytes(StandardCharsets.US_ASCII);
            String expected = HexFormat.of().formatHex(mac.doFinal(msg));
            if (key.length == 0) continue; // the JDK refuses empty keys; the zero byte key differs
            CramMd5Secret s = CramMd5Secret.decode(CramMd5Secret.derive(pw).encode());
            assertThat(s.hmacHex(msg)).as(pw).isEqualTo(expected);
        }
    }
}
