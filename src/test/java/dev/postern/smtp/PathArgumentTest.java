package dev.postern.smtp;

import dev.postern.mail.Replies;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PathArgumentTest {

    @Test void nullSenderAndParameters() {
        PathArgument p = PathArgument.parseMail("FROM:<> SIZE=100 BODY=8BITMIME", false);
        assertThat(p.isError()).isFalse();
        assertThat(p.address()).isNull();
        assertThat(p.params()).containsEntry("SIZE", "100").containsEntry("BODY", "8BITMIME");
    }

    @Test void sourceRouteIsDroppedKeepingTheMailbox() {
        PathArgument p = PathArgument.parseRcpt("TO:<@a.example,@b.example:u@remote.example>", false);
        assertThat(p.address().toString()).isEqualTo("u@remote.example");
        assertThat(PathArgument.parseRcpt("TO:<@bad_host:u@remote.example>", false).error()).isEqualTo(Replies.BAD_ADDRESS_SYNTAX);
    }

    @Test void quotedLocalPartsKeepTheirAt() {
        PathArgument p = PathArgument.parseRcpt("TO:<\"a@b> c\"@example.test>", false);
        assertThat(p.address().localPart()).isEqualTo("a@b> c");
        assertThat(p.address().domain()).isEqualTo("example.test");
        assertThat(p.address().toString()).isEqualTo("\"a@b> c\"@example.test");
    }

    @Test void postmasterWithoutDomain() {
        assertThat(PathArgument.parseRcpt("TO:<PostMaster>", false).postmaster()).isTrue();
        assertThat(PathArgument.parseMail("FROM:<postmaster>", false).isError()).isTrue();
    }

    @Test void rejectsMalformed() {
        assertThat(PathArgument.parseMail("FROM:a@b.example", false).isError()).isTrue();
        assertThat(PathArgument.parseMail("FROM:<a@b.example>x", false).isError()).isTrue();
        assertThat(PathArgument.parseMail("FROM:<a@b.example> SIZE=1 SIZE=2", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<a..b@example.test>", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<" + "x".repeat(65) + "@example.test>", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<a@-bad-.example>", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<a@[300.1.1.1]>", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<a@[192.0.2.1]>", false).isError()).isFalse();
    }

    @Test void utf8AddressesNeedSmtpUtf8() {
        assertThat(PathArgument.parseRcpt("TO:<jörg@example.test>", false).isError()).isTrue();
        assertThat(PathArgument.parseRcpt("TO:<jörg@example.test>", true).address().localPart()).isEqualTo("jörg");
        assertThat(PathArgument.parseMail("FROM:<jörg@example.test> SMTPUTF8", false).isError()).isFalse();
    }
}
