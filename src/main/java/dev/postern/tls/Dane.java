package dev.postern.tls;

import dev.postern.route.ValidatedDns;
import dev.postern.route.ValidatedDns.Security;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.Type;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What DANE (RFC 7672) asks of a delivery, from DNSSEC-validated answers: whether the destination's MX
 * records are secure (and which hosts they name), and per MX host whether secure TLSA records say how to
 * authenticate it.
 */
public final class Dane {
    /** The MX RRset, validated: SECURE names the hosts DANE may use; INSECURE means DANE does not apply. */
    public record Mx(Security security, Set<String> hosts, String detail) {}

    public enum State {
        /** Secure, usable TLSA records: TLS required, and the peer must match one of them. */
        AUTHENTICATE,
        /** Secure TLSA records, none usable: TLS required, the peer not authenticated (RFC 7672 2.2). */
        ENCRYPT,
        /** No secure TLSA records (or insecure addresses): DANE does not apply to this host. */
        NONE,
        /** A validation failure (RFC 7672 2.1.1): the host must not be used; counted as dnssec-invalid. */
        BOGUS,
        /** The lookup could not be completed: the host is not used this time. */
        TEMPFAIL
    }

    /** One MX host's verdict, with the usable records to match and the record set's text for TLS reports. */
    public record Host(State state, List<TLSARecord> records, List<String> text, String detail) {
        static Host of(State s, String detail) { return new Host(s, List.of(), List.of(), detail); }
    }

    private final ValidatedDns dns;

    public Dane(ValidatedDns dns) { this.dns = dns; }

    public Mx mx(String domain) {
        ValidatedDns.Answer a = dns.query(domain, Type.MX);
        Set<String> hosts = new LinkedHashSet<>();
        for (Record r : a.records()) hosts.add(((MXRecord) r).getTarget().toString(true).toLowerCase(Locale.ROOT));
        return new Mx(a.security(), hosts, a.detail());
    }

    /**
     * RFC 7672 2.2.2: TLSA records of _PORT._tcp.HOST count only when the host's address records are secure
     * too; then secure usable records authenticate, secure unusable ones only encrypt.
     */
    public Host host(String host, int port) {
        ValidatedDns.Answer addr = dns.query(host, Type.A);
        if (addr.security() == Security.SECURE && addr.records().isEmpty()) addr = dns.query(host, Type.AAAA);
        switch (addr.security()) {
            case BOGUS: return Host.of(State.BOGUS, addr.detail());
            case TEMPFAIL: return Host.of(State.TEMPFAIL, addr.detail());
            case INSECURE: return Host.of(State.NONE, "address records of " + host + " are not DNSSEC-signed");
            default: break;
        }
        String name = "_" + port + "._tcp." + host;
        ValidatedDns.Answer t = dns.query(name, Type.TLSA);
        switch (t.security()) {
            case BOGUS: return Host.of(State.BOGUS, t.detail());
            case TEMPFAIL: return Host.of(State.TEMPFAIL, t.detail());
            case INSECURE: return Host.of(State.NONE, name + " is not DNSSEC-signed");
            default: break;
        }
        if (t.records().isEmpty()) return Host.of(State.NONE, "no TLSA records at " + name);
        List<TLSARecord> all = t.records().stream().map(r -> (TLSARecord) r).toList();
        List<String> text = all.stream().map(TLSARecord::rdataToString).toList();
        List<TLSARecord> usable = all.stream().filter(TlsaMatcher::usable).toList();
        return usable.isEmpty() ? new Host(State.ENCRYPT, List.of(), text, "no usable TLSA records at " + name)
                : new Host(State.AUTHENTICATE, usable, text, null);
    }
}
