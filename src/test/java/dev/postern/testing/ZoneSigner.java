package dev.postern.testing;

import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Signs one zone of a {@link TestDnsServer} on the fly, as an authoritative DNSSEC server would answer a
 * question with the DO bit: RRSIGs over each answer RRset, and for NODATA and NXDOMAIN the SOA and the NSEC
 * records that prove the denial (RFC 4035 3.1.3). One ECDSA P-256 key (algorithm 13) signs everything.
 */
final class ZoneSigner {
    private static final int ECDSAP256SHA256 = 13;
    private static final long TTL = 300;

    private final Name zone;
    private final Map<Name, List<Record>> records;
    private final KeyPair keys;
    private final DNSKEYRecord dnskey;
    private final Set<Name> spoiled = ConcurrentHashMap.newKeySet();

    ZoneSigner(Name zone, Map<Name, List<Record>> records) {
        this.zone = zone;
        this.records = records;
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            keys = g.generateKeyPair();
            dnskey = new DNSKEYRecord(zone, DClass.IN, TTL, 257, 3, ECDSAP256SHA256, keys.getPublic());
            SOARecord soa = new SOARecord(zone, DClass.IN, TTL, Name.fromString("ns", zone), Name.fromString("hostmaster", zone),
                    1, 3600, 600, 86400, TTL);
            add(dnskey);
            add(soa);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void add(Record r) {
        records.computeIfAbsent(r.getName(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(r);
    }

    String trustAnchor() { return dnskey.toString(); }

    void spoil(Name name) { spoiled.add(name); }

    /** Adds signatures and denial proofs to an answer about this zone. */
    void sign(Message m) {
        Name qname = m.getQuestion().getName();
        for (RRset set : m.getSectionRRsets(Section.ANSWER)) {
            if (set.getName().subdomain(zone)) m.addRecord(signature(set), Section.ANSWER);
        }
        if (!qname.subdomain(zone) || m.getSection(Section.ANSWER).stream().anyMatch(r -> r.getType() == m.getQuestion().getType())) return;
        Record soa = records.get(zone).stream().filter(r -> r.getType() == Type.SOA).findFirst().orElseThrow();
        m.addRecord(soa, Section.AUTHORITY);
        m.addRecord(signature(new RRset(soa)), Section.AUTHORITY);
        List<NSECRecord> proofs = new ArrayList<>();
        if (m.getHeader().getRcode() == Rcode.NXDOMAIN) {
            proofs.add(covering(qname));
            NSECRecord wildcard = covering(wildcardOf(closestEncloser(qname)));
            if (!wildcard.getName().equals(proofs.get(0).getName())) proofs.add(wildcard);
        } else if (records.containsKey(qname)) {
            proofs.add(nsecAt(qname));
        }
        for (NSECRecord n : proofs) {
            m.addRecord(n, Section.AUTHORITY);
            m.addRecord(signature(new RRset(n)), Section.AUTHORITY);
        }
    }

    private RRSIGRecord signature(RRset set) {
        try {
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            RRSIGRecord sig = DNSSEC.sign(set, dnskey, keys.getPrivate(), now.minus(1, ChronoUnit.HOURS), now.plus(1, ChronoUnit.DAYS));
            if (!spoiled.contains(set.getName())) return sig;
            byte[] bad = sig.getSignature().clone();
            bad[bad.length / 2] ^= 0x5a;
            return new RRSIGRecord(sig.getName(), sig.getDClass(), sig.getTTL(), sig.getTypeCovered(), sig.getAlgorithm(), sig.getOrigTTL(),
                    sig.getExpire(), sig.getTimeSigned(), sig.getFootprint(), sig.getSigner(), bad);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The zone's names in canonical order (RFC 4034 6.1). */
    private TreeSet<Name> names() {
        TreeSet<Name> out = new TreeSet<>();
        for (Name n : records.keySet()) if (n.subdomain(zone)) out.add(n);
        return out;
    }

    private NSECRecord nsecAt(Name owner) {
        TreeSet<Name> all = names();
        Name next = all.higher(owner);
        Set<Integer> types = new TreeSet<>(List.of(Type.RRSIG, Type.NSEC));
        for (Record r : records.getOrDefault(owner, List.of())) types.add(r.getType());
        return new NSECRecord(owner, DClass.IN, TTL, next == null ? zone : next, types.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The NSEC whose owner sorts before the name and whose next name after it: proof the name does not exist. */
    private NSECRecord covering(Name name) {
        Name owner = names().lower(name);
        return nsecAt(owner == null ? zone : owner);
    }

    private Name closestEncloser(Name name) {
        for (Name n = parent(name); ; n = parent(n)) {
            Name candidate = n;
            if (n.equals(zone) || records.keySet().stream().anyMatch(r -> r.subdomain(candidate))) return n;
        }
    }

    private static Name parent(Name n) { return new Name(n, 1); }

    private static Name wildcardOf(Name n) {
        try {
            return Name.concatenate(Name.fromString("*"), n);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
