package dev.postern.auth;

import dev.postern.smtp.sasl.Credentials;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

class UserStoreTest {

    @Test void storesArgon2idHashesInAPrivateFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("users");
        UserStore s = new UserStore(f);
        s.put("Alice@Example.test", "s3cret");
        String content = Files.readString(f);
        assertThat(content).contains("alice@example.test:$argon2id$").doesNotContain("s3cret");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");

        Authenticator auth = new Authenticator(new UserStore(f));
        assertThat(auth.verify(new Credentials.Password("alice@example.test", "s3cret"))).isEqualTo("alice@example.test");
        assertThat(auth.verify(new Credentials.Password("ALICE@example.test", "s3cret"))).isEqualTo("alice@example.test");
        assertThat(auth.verify(new Credentials.Password("alice@example.test", "wrong"))).isNull();
        assertThat(auth.verify(new Credentials.Password("nobody@example.test", "s3cret"))).isNull();
        assertThat(s.remove("alice@example.test")).isTrue();
        assertThat(new UserStore(f).list()).isEmpty();
    }
}
