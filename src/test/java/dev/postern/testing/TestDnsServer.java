package dev.postern.testing;

import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Master;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real authoritative DNS server on 127.0.0.1 (UDP, an OS-chosen port) serving zones given as master-file
 * lines, e.g. {@code "example.test. 300 IN MX 10 mx1.example.test."}. Names listed with {@link #servfail}
 * answer SERVFAIL; names with no records answer NXDOMAIN; names with other types answer NODATA.
 */
public final class TestDnsServer implements AutoCloseable {
    private final DatagramSocket socket;
    private final Map<Name, List<Record>> records = new ConcurrentHashMap<>();
    private final Set<Name> servfail = ConcurrentHashMap.newKeySet();
    private final Set<Name> silent = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicLong unanswered = new java.util.concurrent.atomic.AtomicLong();
    private final Thread thread;
    private volatile ZoneSigner signer;

    public TestDnsServer() throws IOException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = new Thread(this::serve, "test-dns");
        thread.setDaemon(true);
        thread.start();
    }

    public InetSocketAddress address() { return (InetSocketAddress) socket.getLocalSocketAddress(); }

    /** Adds records in master-file syntax; names must be absolute. */
    public TestDnsServer zone(String... lines) {
        try (Master m = new Master(new java.io.ByteArrayInputStream(String.join("\n", lines).getBytes()), Name.root, 300)) {
            for (Record r; (r = m.nextRecord()) != null; ) {
                records.computeIfAbsent(r.getName(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(r);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(String.join("\n", lines), e);
        }
        return this;
    }

    /**
     * DNSSEC-signs everything at and under {@code zone} (RFC 4034/4035): a DNSKEY and SOA at the apex, an
     * RRSIG for each answer and an NSEC chain for denials, sent to questions that ask for them (DO bit).
     * Returns the trust anchor (the zone's DNSKEY in master-file form) for a validating resolver.
     */
    public String signed(String zone) {
        signer = new ZoneSigner(absolute(zone), records);
        return signer.trustAnchor();
    }

    /** RRSIGs over this name's records are spoiled (a bogus answer, as after tampering on the path). */
    public TestDnsServer badSignatures(String name) {
        signer.spoil(absolute(name));
        return this;
    }

    public TestDnsServer servfail(String name) {
        servfail.add(absolute(name));
        return this;
    }

    private static Name absolute(String name) {
        try {
            return Name.fromString(name.endsWith(".") ? name : name + ".");
        } catch (IOException e) {
            throw new IllegalArgumentException(name, e);
        }
    }

    /** Questions about this name or any name under it are never answered (a dead or hostile name server). */
    public TestDnsServer silent(String zone) {
        silent.add(absolute(zone));
        return this;
    }

    /** How many questions went unanswered because of {@link #silent}. */
    public long unanswered() { return unanswered.get(); }

    private boolean isSilent(Name name) {
        for (Name z : silent) if (name.subdomain(z)) return true;
        return false;
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                Message q = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                if (isSilent(q.getQuestion().getName())) {
                    unanswered.incrementAndGet();
                    continue;
                }
                org.xbill.DNS.OPTRecord opt = q.getOPT();
                boolean dnssec = opt != null && (opt.getFlags() & org.xbill.DNS.ExtendedFlags.DO) != 0;
                Message r = answer(q);
                if (opt != null) r.addRecord(new org.xbill.DNS.OPTRecord(4096, 0, 0, dnssec ? org.xbill.DNS.ExtendedFlags.DO : 0), Section.ADDITIONAL);
                ZoneSigner z = signer;
                if (dnssec && z != null) z.sign(r);
                byte[] answer = r.toWire(opt == null ? 512 : Math.max(512, opt.getPayloadSize()));
                socket.send(new DatagramPacket(answer, answer.length, p.getSocketAddress()));
            } catch (IOException e) {
                if (socket.isClosed()) return;
            }
        }
    }

    private Message answer(Message q) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.AA);
        r.getHeader().setOpcode(Opcode.QUERY);
        Record question = q.getQuestion();
        r.addRecord(question, Section.QUESTION);
        Name name = question.getName();
        int type = question.getType();
        for (int hops = 0; hops < 20; hops++) {
            if (servfail.contains(name)) {
                r.getHeader().setRcode(Rcode.SERVFAIL);
                return r;
            }
            List<Record> rs = records.get(name);
            if (rs == null) {
                r.getHeader().setRcode(Rcode.NXDOMAIN);
                return r;
            }
            List<Record> matching = rs.stream().filter(x -> x.getType() == type).toList();
            if (!matching.isEmpty()) {
                matching.forEach(x -> r.addRecord(x, Section.ANSWER));
                return r;
            }
            Record cname = rs.stream().filter(x -> x.getType() == Type.CNAME).findFirst().orElse(null);
            if (cname == null) return r; // NODATA
            r.addRecord(cname, Section.ANSWER);
            name = ((CNAMERecord) cname).getTarget();
        }
        return r;
    }

    @Override public void close() {
        socket.close();
    }
}
