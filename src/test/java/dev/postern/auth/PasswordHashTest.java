package dev.postern.auth;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

import static org.assertj.core.api.Assertions.assertThat;

class PasswordHashTest {
    // made by password4j 1.8.4, which wrote every accounts file before this class: they must keep verifying
    private static final String EARLIER_DEFAULT = "$argon2id$v=19$m=19456,t=2,p=1$cvIJmEWsqhNeCdQTwJe6hQ$MfyEQiIwyANrRMlqI+Ua96a5ZiHStMgImFY/m/P1X2w";
    private static final String EARLIER_UTF8 = "$argon2id$v=19$m=19456,t=2,p=1$s6Kv/XLjN+9yXrgtUYpznw$KXTwnal+IwgfYmNB39e2q/7tjLgdyxFrU/N/09wFpdA";
    private static final String EARLIER_TWO_LANES = "$argon2id$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$7mtd2AklOFKy3+yscGKyi+xuvP6vJzAfqxUUIywDWFs";
    private static final String EARLIER_ARGON2I_24 = "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$8jkC1NybW8G4m1Ob/xaDR6Tu9AQKaJRP";

    @Test void hashesWrittenByEarlierReleasesVerifyWithTheParametersTheyName() {
        assertThat(PasswordHash.verify("correct horse", EARLIER_DEFAULT)).isTrue();
        assertThat(PasswordHash.verify("correct horsf", EARLIER_DEFAULT)).isFalse();
        assertThat(PasswordHash.verify("pässwörd ✓", EARLIER_UTF8)).isTrue();
        assertThat(PasswordHash.verify("passwort ✓", EARLIER_UTF8)).isFalse();
        assertThat(PasswordHash.verify("x", EARLIER_TWO_LANES)).isTrue();
        assertThat(PasswordHash.verify("y", EARLIER_TWO_LANES)).isFalse();
        assertThat(PasswordHash.verify("x", EARLIER_ARGON2I_24)).isTrue();
        // the same salt and hash read as another type or version are another hash
        assertThat(PasswordHash.verify("x", EARLIER_ARGON2I_24.replace("argon2i$", "argon2d$"))).isFalse();
        assertThat(PasswordHash.verify("x", EARLIER_TWO_LANES.replace("v=19", "v=16"))).isFalse();
    }

    @Test void newHashesAreArgon2idWithTheOwaspMinimumAndAFreshSalt() {
        String a = PasswordHash.hash("s3cret"), b = PasswordHash.hash("s3cret");
        assertThat(a).matches("\\$argon2id\\$v=19\\$m=19456,t=2,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}");
        assertThat(a).isNotEqualTo(b);
        assertThat(PasswordHash.verify("s3cret", a)).isTrue();
        assertThat(PasswordHash.verify("s3cret", b)).isTrue();
        assertThat(PasswordHash.verify("S3cret", a)).isFalse();
    }

    @Test void somethingElseInThePasswordFieldMatchesNothing() {
        for (String bad : new String[] {"", "plain", "{SHA}abc", "$2y$10$abcdefghijklmnopqrstuv",
                "$argon2id$v=19$m=19456,t=2,p=1$cvIJmEWsqhNeCdQTwJe6hQ", // no hash
                "$argon2id$v=19$m=4,t=2,p=1$cvIJmEWsqhNeCdQTwJe6hQ$MfyEQiIwyANrRMlqI+Ua96a5ZiHStMgImFY/m/P1X2w", // below 8 KiB per lane
                "$argon2id$v=19$m=99999999,t=2,p=1$cvIJmEWsqhNeCdQTwJe6hQ$MfyEQiIwyANrRMlqI+Ua96a5ZiHStMgImFY/m/P1X2w", // beyond 4 GiB
                "$argon2id$v=18$m=19456,t=2,p=1$cvIJmEWsqhNeCdQTwJe6hQ$MfyEQiIwyANrRMlqI+Ua96a5ZiHStMgImFY/m/P1X2w"}) {
            assertThat(PasswordHash.verify("correct horse", bad)).as(bad).isFalse();
        }
    }

    @Test void aCheckKeepsNoMemoryAfterItReturns() {
        // parameters no other test uses: password4j kept a 16 MiB template from the first check with them on
        String sixteenMiB = "$argon2id$v=19$m=16384,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$7mtd2AklOFKy3+yscGKyi+xuvP6vJzAfqxUUIywDWFs";
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long before = memory.getHeapMemoryUsage().getUsed();
        for (int i = 0; i < 3; i++) assertThat(PasswordHash.verify("x", sixteenMiB)).isFalse();
        System.gc();
        assertThat(memory.getHeapMemoryUsage().getUsed() - before).isLessThan(8L << 20);
    }
}
