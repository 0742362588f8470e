import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * A name server on 127.0.0.1 for the isolation bench: fast.test answers at once (SPF allowing loopback,
 * DMARC p=none), every name under silent.test is never answered, anything else is NXDOMAIN. Prints the
 * number of swallowed questions on exit.
 *
 *   java -cp target/postern.jar bench/tools/SilentDns.java PORT
 */
public final class SilentDns {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Name fast = Name.fromString("fast.test."), dmarc = Name.fromString("_dmarc.fast.test."), silent = Name.fromString("silent.test.");
        long[] swallowed = {0};
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("swallowed " + swallowed[0])));
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
            byte[] buf = new byte[4096];
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                Message q = new Message(Arrays.copyOf(p.getData(), p.getLength()));
                Record question = q.getQuestion();
                Name name = question.getName();
                if (name.subdomain(silent)) {
                    swallowed[0]++;
                    continue;
                }
                Message r = new Message(q.getHeader().getID());
                r.getHeader().setFlag(Flags.QR);
                r.getHeader().setFlag(Flags.AA);
                r.addRecord(question, Section.QUESTION);
                if (name.equals(fast) && question.getType() == Type.TXT) {
                    r.addRecord(new TXTRecord(fast, DClass.IN, 300, "v=spf1 ip4:127.0.0.0/8 -all"), Section.ANSWER);
                } else if (name.equals(dmarc) && question.getType() == Type.TXT) {
                    r.addRecord(new TXTRecord(dmarc, DClass.IN, 300, "v=DMARC1; p=none"), Section.ANSWER);
                } else if (!name.equals(fast)) {
                    r.getHeader().setRcode(Rcode.NXDOMAIN);
                }
                byte[] out = r.toWire(512);
                s.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            }
        }
    }
}
