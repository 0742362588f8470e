package dev.postern.filter;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The milter wire format (Sendmail's libmilter, protocol version 6, as Postfix speaks it), pure: packets
 * are a 4-byte big-endian length (command byte included), a command byte, and data; strings are
 * NUL-terminated. No I/O here.
 */
public final class MilterProtocol {
    private MilterProtocol() {}

    public static final int VERSION = 6;

    // commands, MTA → milter
    public static final byte ABORT = 'A', BODY = 'B', CONNECT = 'C', MACRO = 'D', END_OF_MESSAGE = 'E', HELO = 'H',
            HEADER = 'L', MAIL = 'M', END_OF_HEADERS = 'N', OPTNEG = 'O', QUIT = 'Q', RCPT = 'R', DATA = 'T';

    // replies and modifications, milter → MTA
    public static final byte ADD_RCPT = '+', DEL_RCPT = '-', ADD_RCPT_PAR = '2', ACCEPT = 'a', REPLACE_BODY = 'b',
            CONTINUE = 'c', DISCARD = 'd', CHANGE_FROM = 'e', ADD_HEADER = 'h', INSERT_HEADER = 'i', SET_SYMLIST = 'l',
            CHANGE_HEADER = 'm', PROGRESS = 'p', QUARANTINE = 'q', REJECT = 'r', SKIP = 's', TEMPFAIL = 't', REPLY_CODE = 'y',
            SHUTDOWN = '4', CONN_FAIL = 'f';

    // actions the MTA allows (SMFIF_*)
    public static final int ADD_HEADERS = 0x01, CHANGE_BODY = 0x02, ADD_RCPTS = 0x04, DEL_RCPTS = 0x08, CHANGE_HEADERS = 0x10,
            QUARANTINE_ACTION = 0x20, CHANGE_FROM_ACTION = 0x40, ADD_RCPT_PARAMS = 0x80, SET_SYMLIST_ACTION = 0x100;
    public static final int ALL_ACTIONS = 0x1ff;

    // protocol steps (SMFIP_*): what the milter does not want sent, and what it will not answer
    public static final int NO_CONNECT = 0x01, NO_HELO = 0x02, NO_MAIL = 0x04, NO_RCPT = 0x08, NO_BODY = 0x10, NO_HEADERS = 0x20,
            NO_EOH = 0x40, NR_HEADER = 0x80, NO_UNKNOWN = 0x100, NO_DATA = 0x200, SKIP_OK = 0x400, RCPT_REJECTED = 0x800,
            NR_CONNECT = 0x1000, NR_HELO = 0x2000, NR_MAIL = 0x4000, NR_RCPT = 0x8000, NR_DATA = 0x10000, NR_UNKNOWN = 0x20000,
            NR_EOH = 0x40000, NR_BODY = 0x80000, HEADER_LEADING_SPACE = 0x100000;
    /** The steps this MTA can leave out or take without a reply; we never send rejected recipients (RCPT_REJECTED). */
    public static final int SUPPORTED_STEPS = NO_CONNECT | NO_HELO | NO_MAIL | NO_RCPT | NO_BODY | NO_HEADERS | NO_EOH | NR_HEADER
            | NO_UNKNOWN | NO_DATA | SKIP_OK | NR_CONNECT | NR_HELO | NR_MAIL | NR_RCPT | NR_DATA | NR_UNKNOWN | NR_EOH | NR_BODY;

    /** Body chunks are at most this long (MILTER_CHUNK_SIZE). */
    public static final int CHUNK = 65535;
    /** A reply longer than this is refused as garbage rather than allocated. */
    public static final int MAX_PACKET = 1 << 20;

    /** One packet. */
    public record Packet(byte command, byte[] data) {
        public String text() { return cString(data, 0); }
    }

    public static byte[] packet(byte command, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(5 + data.length);
        b.putInt(data.length + 1).put(command).put(data);
        return b.array();
    }

    /** NUL-terminated strings, one after another. */
    public static byte[] strings(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String p : parts) {
            out.writeBytes(p.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    public static byte[] optionNegotiation(int version, int actions, int steps) {
        return ByteBuffer.allocate(12).putInt(version).putInt(actions).putInt(steps).array();
    }

    /** SMFIC_CONNECT: host name, family ('4', '6', 'U'nknown), port, address. */
    public static byte[] connect(String hostname, java.net.InetAddress address, int port) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(strings(hostname));
        if (address == null) {
            out.write('U');
            return out.toByteArray();
        }
        out.write(address instanceof java.net.Inet6Address ? '6' : '4');
        out.write((port >> 8) & 0xff);
        out.write(port & 0xff);
        out.writeBytes(strings(address.getHostAddress()));
        return out.toByteArray();
    }

    /** SMFIC_MACRO: the stage's command byte, then name/value pairs. */
    public static byte[] macros(byte stage, Map<String, String> values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(stage);
        values.forEach((k, v) -> {
            if (v != null) out.writeBytes(strings(k, v));
        });
        return out.toByteArray();
    }

    /** The negotiated options from the milter's SMFIC_OPTNEG reply; macro lists it asks for are ignored. */
    public record Options(int version, int actions, int steps) {
        public boolean has(int step) { return (steps & step) != 0; }

        public boolean allows(int action) { return (actions & action) != 0; }
    }

    public static Options options(byte[] data) {
        if (data.length < 12) throw new IllegalArgumentException("option negotiation reply of " + data.length + " bytes");
        ByteBuffer b = ByteBuffer.wrap(data);
        return new Options(b.getInt(), b.getInt(), b.getInt());
    }

    /** The NUL-terminated string at offset (to the end when there is no NUL). */
    public static String cString(byte[] data, int offset) {
        int end = offset;
        while (end < data.length && data[end] != 0) end++;
        return new String(data, offset, end - offset, StandardCharsets.UTF_8);
    }

    /** All NUL-terminated strings in data. */
    public static List<String> cStrings(byte[] data, int offset) {
        List<String> out = new ArrayList<>();
        int start = offset;
        for (int i = offset; i < data.length; i++) {
            if (data[i] == 0) {
                out.add(new String(data, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < data.length) out.add(new String(data, start, data.length - start, StandardCharsets.UTF_8));
        return out;
    }

    public static int int32(byte[] data, int offset) {
        return ByteBuffer.wrap(data, offset, 4).getInt();
    }
}
