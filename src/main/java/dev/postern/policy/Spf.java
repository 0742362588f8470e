package dev.postern.policy;

import dev.postern.mail.Cidr;
import dev.postern.route.Dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SPF check_host() function of RFC 7208: every mechanism and modifier, macros, the limit of 10
 * DNS-querying terms (4.6.4) and of 2 void lookups. Pure given the {@link Dns} answers.
 */
public final class Spf {

    public enum Result {
        NONE, NEUTRAL, PASS, FAIL, SOFTFAIL, TEMPERROR, PERMERROR;

        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    /** The result, the domain whose record decided it, and a reason for logs and headers. */
    public record Outcome(Result result, String domain, String reason) {}

    static final int MAX_DNS_TERMS = 10;
    static final int MAX_VOID_LOOKUPS = 2;
    private static final Pattern DUAL_CIDR = Pattern.compile("^(.*?)(?:/(\\d+))?(?://(\\d+))?$");
    private static final Pattern NAME = Pattern.compile("[a-zA-Z][a-zA-Z0-9_.-]*");

    private final Dns dns;
    private final String receiver;

    public Spf(Dns dns, String receiver) {
        this.dns = dns;
        this.receiver = receiver;
    }

    /** RFC 7208 2.4: MAIL FROM identity; the null sender is checked as postmaster@helo. */
    public Outcome checkMailFrom(InetAddress ip, String sender, String helo) {
        if (sender == null || sender.isEmpty()) return checkHelo(ip, helo);
        int at = sender.lastIndexOf('@');
        String local = sender.substring(0, at);
        String domain = sender.substring(at + 1);
        // RFC 7208 4.3: an empty local-part is "postmaster"
        return checkHost(ip, domain, (local.isEmpty() ? "postmaster" : local) + "@" + domain, helo);
    }

    /** RFC 7208 2.3: the HELO identity, postmaster@helo. */
    public Outcome checkHelo(InetAddress ip, String helo) {
        if (helo == null || helo.startsWith("[") || !helo.contains(".")) return new Outcome(Result.NONE, helo, "HELO is not a domain name");
        return checkHost(ip, helo, "postmaster@" + helo, helo);
    }

    public Outcome checkHost(InetAddress ip, String domain, String sender, String helo) {
        Evaluation e = new Evaluation(unmap(ip), sender, helo);
        return e.run(domain, 0);
    }

    private static InetAddress unmap(InetAddress ip) {
        byte[] a = ip.getAddress();
        if (a.length == 16) {
            boolean mapped = a[10] == (byte) 0xff && a[11] == (byte) 0xff;
            for (int i = 0; i < 10; i++) mapped &= a[i] == 0;
            if (mapped) {
                try {
                    return InetAddress.getByAddress(java.util.Arrays.copyOfRange(a, 12, 16));
                } catch (java.net.UnknownHostException ignored) {
                    // four bytes are always a valid address
                }
            }
        }
        return ip;
    }

    /** A result decided while evaluating, unwinding through includes. */
    private static final class Abort extends Exception {
        final Result result;
        Abort(Result result, String reason) {
            super(reason, null, false, false);
            this.result = result;
        }
    }

    private record Term(char qualifier, String name, String value, boolean modifier) {}

    private final class Evaluation {
        final InetAddress ip;
        final String sender;
        final String helo;
        int dnsTerms;
        int voidLookups;
        String explanation = "";

        Evaluation(InetAddress ip, String sender, String helo) {
            this.ip = ip;
            this.sender = sender;
            this.helo = helo;
        }

        Outcome run(String domain, int depth) {
            try {
                return new Outcome(evaluate(domain, depth), domain, explanation);
            } catch (Abort a) {
                return new Outcome(a.result, domain, a.getMessage());
            }
        }

        private void countTerm() throws Abort {
            // RFC 7208 4.6.4: counted before the lookup, so the 11th such term is never queried
            if (++dnsTerms > MAX_DNS_TERMS) throw new Abort(Result.PERMERROR, "more than 10 DNS-querying terms");
        }

        private void countVoid() throws Abort {
            if (++voidLookups > MAX_VOID_LOOKUPS) throw new Abort(Result.PERMERROR, "more than 2 void lookups");
        }

        private SpfMacro.Context context(String domain) {
            return new SpfMacro.Context(sender, domain, ip, helo, receiver, this::validatedName);
        }

        /** Returns the result for domain; limits and DNS failures abort the whole evaluation. */
        Result evaluate(String domain, int depth) throws Abort {
            if (!validDomain(domain)) return Result.NONE; // RFC 7208 4.3
            String record = fetchRecord(domain);
            if (record == null) return Result.NONE;
            List<Term> terms = parse(record);
            String redirect = null, exp = null;
            for (Term t : terms) {
                if (t.modifier() && t.name().equals("redirect")) redirect = t.value();
                if (t.modifier() && t.name().equals("exp")) exp = t.value();
            }
            for (Term t : terms) {
                if (t.modifier()) continue;
                if (matches(t, domain, depth)) {
                    Result r = qualified(t.qualifier());
                    if (r == Result.FAIL && exp != null) explanation = explain(exp, domain);
                    return r;
                }
            }
            // RFC 7208 6.1: redirect applies only when no mechanism matched (and "all" always matches)
            if (redirect != null) {
                countTerm();
                String target = expandDomain(redirect, domain);
                if (!validDomain(target) || fetchRecord(target) == null) throw new Abort(Result.PERMERROR, "redirect to " + target + " without an SPF record");
                return evaluate(target, depth + 1);
            }
            return Result.NEUTRAL;
        }

        /**
         * RFC 7208 6.2: the domain's own words on a fail, macro-expanded; any problem means no explanation.
         * Kept to printable ASCII and 200 characters, since it may be quoted in our reply.
         */
        private String explain(String exp, String domain) {
            try {
                String target = expandDomain(exp, domain);
                Dns.Answer<String> a = dns.txt(target);
                if (a.values().size() != 1) return "";
                String text = SpfMacro.expand(a.values().get(0), context(domain), true);
                text = text.replaceAll("[^\\x20-\\x7e]", "");
                return text.length() > 200 ? text.substring(0, 200) : text;
            } catch (Abort | SpfMacro.SyntaxError e) {
                return "";
            }
        }

        private String fetchRecord(String domain) throws Abort {
            Dns.Answer<String> a = dns.txt(domain);
            if (a.status() == Dns.Status.TEMPFAIL) throw new Abort(Result.TEMPERROR, "DNS failure for " + domain);
            List<String> spf = new ArrayList<>();
            for (String txt : a.values()) {
                // RFC 7208 4.5: "v=spf1" exactly, then a space or the end
                String lower = txt.toLowerCase(Locale.ROOT);
                if (lower.equals("v=spf1") || lower.startsWith("v=spf1 ")) spf.add(txt);
            }
            if (spf.size() > 1) throw new Abort(Result.PERMERROR, "more than one SPF record for " + domain);
            return spf.isEmpty() ? null : spf.get(0);
        }

        /** RFC 7208 4.6: a syntax error anywhere makes the whole record a permerror, before any term runs. */
        private List<Term> parse(String record) throws Abort {
            List<Term> terms = new ArrayList<>();
            boolean sawRedirect = false, sawExp = false;
            for (String raw : record.substring(6).trim().split(" +")) {
                if (raw.isEmpty()) continue;
                char q = '+';
                String body = raw;
                if ("+-~?".indexOf(body.charAt(0)) >= 0) {
                    q = body.charAt(0);
                    body = body.substring(1);
                }
                int eq = body.indexOf('=');
                int colon = body.indexOf(':');
                int slash = body.indexOf('/');
                boolean modifier = eq > 0 && (colon < 0 || eq < colon) && (slash < 0 || eq < slash);
                if (modifier) {
                    String name = body.substring(0, eq).toLowerCase(Locale.ROOT);
                    if (q != '+' || raw.charAt(0) == '+' || !NAME.matcher(name).matches()) throw new Abort(Result.PERMERROR, "bad term " + raw);
                    String value = body.substring(eq + 1);
                    checkMacros(value);
                    if (name.equals("redirect")) {
                        if (sawRedirect) throw new Abort(Result.PERMERROR, "two redirect modifiers");
                        sawRedirect = true;
                    } else if (name.equals("exp")) {
                        if (sawExp) throw new Abort(Result.PERMERROR, "two exp modifiers");
                        sawExp = true;
                    }
                    terms.add(new Term(q, name, value, true));
                    continue;
                }
                int cut = colon >= 0 ? colon : slash >= 0 ? slash : body.length();
                if (colon >= 0 && slash >= 0 && slash < colon) cut = slash;
                String name = body.substring(0, cut).toLowerCase(Locale.ROOT);
                String value = body.substring(cut);
                switch (name) {
                    case "all" -> { if (!value.isEmpty()) throw new Abort(Result.PERMERROR, "bad term " + raw); }
                    case "include", "exists" -> {
                        if (!value.startsWith(":") || value.length() == 1) throw new Abort(Result.PERMERROR, "bad term " + raw);
                        checkMacros(value.substring(1));
                    }
                    case "a", "mx" -> checkDualCidr(value, raw);
                    case "ptr" -> {
                        if (!value.isEmpty() && (!value.startsWith(":") || value.length() == 1)) throw new Abort(Result.PERMERROR, "bad term " + raw);
                        if (!value.isEmpty()) checkMacros(value.substring(1));
                    }
                    case "ip4", "ip6" -> {
                        Cidr c = value.startsWith(":") ? Cidr.parse(value.substring(1)) : null;
                        boolean v4 = c != null && c.network().length == 4 && !value.substring(1).contains(":");
                        if (c == null || (name.equals("ip4") != v4) || value.endsWith("/")) throw new Abort(Result.PERMERROR, "bad term " + raw);
                    }
                    default -> throw new Abort(Result.PERMERROR, "unknown mechanism " + raw);
                }
                terms.add(new Term(q, name, value, false));
            }
            return terms;
        }

        private void checkMacros(String spec) throws Abort {
            try {
                SpfMacro.expand(spec, new SpfMacro.Context("a@b", "b", ip, "h", "r", () -> "p"), false);
            } catch (SpfMacro.SyntaxError e) {
                throw new Abort(Result.PERMERROR, e.getMessage());
            }
        }

        private void checkDualCidr(String value, String raw) throws Abort {
            Matcher m = DUAL_CIDR.matcher(value);
            if (!m.matches()) throw new Abort(Result.PERMERROR, "bad term " + raw);
            String spec = m.group(1);
            if (!spec.isEmpty()) {
                if (!spec.startsWith(":") || spec.length() == 1) throw new Abort(Result.PERMERROR, "bad term " + raw);
                checkMacros(spec.substring(1));
            }
            if (m.group(2) != null && (m.group(2).length() > 2 || Integer.parseInt(m.group(2)) > 32)) throw new Abort(Result.PERMERROR, "bad prefix in " + raw);
            if (m.group(3) != null && (m.group(3).length() > 3 || Integer.parseInt(m.group(3)) > 128)) throw new Abort(Result.PERMERROR, "bad prefix in " + raw);
        }

        private boolean matches(Term t, String domain, int depth) throws Abort {
            switch (t.name()) {
                case "all": return true;
                case "ip4": case "ip6": return Cidr.parse(t.value().substring(1)).contains(ip);
                case "include": {
                    countTerm();
                    String target = expandDomain(t.value().substring(1), domain);
                    // RFC 7208 5.2: include maps the inner result
                    String outerExplanation = explanation; // an included record's exp never explains our result
                    Result inner = validDomain(target) ? evaluate(target, depth + 1) : Result.NONE;
                    explanation = outerExplanation;
                    return switch (inner) {
                        case PASS -> true;
                        case FAIL, SOFTFAIL, NEUTRAL -> false;
                        case TEMPERROR -> throw new Abort(Result.TEMPERROR, "include:" + target);
                        case PERMERROR, NONE -> throw new Abort(Result.PERMERROR, "include:" + target + " has no usable SPF record");
                    };
                }
                case "a": {
                    countTerm();
                    Matcher m = DUAL_CIDR.matcher(t.value());
                    m.matches();
                    String target = m.group(1).isEmpty() ? domain : expandDomain(m.group(1).substring(1), domain);
                    return anyAddressMatches(addressesOf(target, true), m);
                }
                case "mx": {
                    countTerm();
                    Matcher m = DUAL_CIDR.matcher(t.value());
                    m.matches();
                    String target = m.group(1).isEmpty() ? domain : expandDomain(m.group(1).substring(1), domain);
                    Dns.Answer<Dns.Mx> mx = dns.mx(target);
                    if (mx.status() == Dns.Status.TEMPFAIL) throw new Abort(Result.TEMPERROR, "DNS failure for MX of " + target);
                    if (mx.values().isEmpty()) {
                        countVoid();
                        return false;
                    }
                    if (mx.values().size() > 10) throw new Abort(Result.PERMERROR, "more than 10 MX records for " + target);
                    for (Dns.Mx x : mx.values()) {
                        if (anyAddressMatches(addressesOf(x.host(), false), m)) return true;
                    }
                    return false;
                }
                case "ptr": {
                    countTerm();
                    String target = t.value().isEmpty() ? domain : expandDomain(t.value().substring(1), domain);
                    for (String name : validatedNames()) {
                        if (name.equalsIgnoreCase(target) || name.toLowerCase(Locale.ROOT).endsWith("." + target.toLowerCase(Locale.ROOT))) return true;
                    }
                    return false;
                }
                case "exists": {
                    countTerm();
                    String target = expandDomain(t.value().substring(1), domain);
                    List<InetAddress> found = addressesOf(target, true).stream().filter(a -> a instanceof Inet4Address).toList();
                    return !found.isEmpty();
                }
                default: throw new Abort(Result.PERMERROR, "unknown mechanism " + t.name());
            }
        }

        private List<InetAddress> addressesOf(String host, boolean countVoids) throws Abort {
            Dns.Answer<InetAddress> a = dns.addresses(host);
            if (a.status() == Dns.Status.TEMPFAIL) throw new Abort(Result.TEMPERROR, "DNS failure for " + host);
            if (a.values().isEmpty() && countVoids) countVoid();
            return a.values();
        }

        private boolean anyAddressMatches(List<InetAddress> addresses, Matcher m) {
            boolean v4 = ip instanceof Inet4Address;
            int prefix = v4 ? (m.group(2) == null ? 32 : Integer.parseInt(m.group(2)))
                    : (m.group(3) == null ? 128 : Integer.parseInt(m.group(3)));
            for (InetAddress a : addresses) {
                if ((a instanceof Inet4Address) != v4) continue;
                if (new Cidr(a.getAddress(), prefix).contains(ip)) return true;
            }
            return false;
        }

        /** RFC 7208 5.5: PTR names (at most 10) whose forward lookup includes the client address. */
        private List<String> validatedNames() throws Abort {
            Dns.Answer<String> ptr = dns.ptr(ip);
            if (ptr.status() == Dns.Status.TEMPFAIL) return List.of(); // 5.5: a DNS error is "no match"
            if (ptr.values().isEmpty()) countVoid();
            List<String> ok = new ArrayList<>();
            for (String name : ptr.values().stream().limit(10).toList()) {
                Dns.Answer<InetAddress> fwd = dns.addresses(name);
                if (fwd.values().contains(ip)) ok.add(name);
            }
            return ok;
        }

        private String validatedName() {
            try {
                List<String> names = validatedNames();
                return names.isEmpty() ? "unknown" : names.get(0);
            } catch (Abort a) {
                return "unknown";
            }
        }

        private String expandDomain(String spec, String domain) throws Abort {
            String out;
            try {
                out = SpfMacro.expand(spec, context(domain), false);
            } catch (SpfMacro.SyntaxError e) {
                throw new Abort(Result.PERMERROR, e.getMessage());
            }
            if (out.endsWith(".")) out = out.substring(0, out.length() - 1);
            // RFC 7208 7.3: longer than 253 octets, drop labels from the left
            while (out.length() > 253 && out.indexOf('.') >= 0) out = out.substring(out.indexOf('.') + 1);
            return out;
        }
    }

    private Result qualified(char q) {
        return switch (q) {
            case '-' -> Result.FAIL;
            case '~' -> Result.SOFTFAIL;
            case '?' -> Result.NEUTRAL;
            default -> Result.PASS;
        };
    }

    /** RFC 7208 4.3: a syntactically valid, multi-label domain with no empty or over-long label. */
    static boolean validDomain(String d) {
        if (d == null || d.isEmpty() || d.length() > 253) return false;
        String[] labels = (d.endsWith(".") ? d.substring(0, d.length() - 1) : d).split("\\.", -1);
        if (labels.length < 2) return false;
        for (String l : labels) if (l.isEmpty() || l.length() > 63) return false;
        return true;
    }
}
