package dev.postern.tls;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;

/**
 * The listeners' certificates when there are several (RSA and ECDSA, several host names): the first pair of
 * the key type the handshake can use whose certificate names the client's SNI host; without such a pair,
 * the first of that key type. The order is the configuration's: the first pair is the default.
 */
public final class CertificateChooser extends X509ExtendedKeyManager {
    /** One certificate chain and its key. */
    public record Pair(X509Certificate[] chain, PrivateKey key) {
        String alias(int i) { return "pair" + i; }
    }

    private final List<Pair> pairs;

    public CertificateChooser(List<Pair> pairs) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("no certificate");
        this.pairs = List.copyOf(pairs);
    }

    @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return choose(keyType, engine == null ? null : engine.getHandshakeSession());
    }

    @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(keyType, socket instanceof javax.net.ssl.SSLSocket s ? s.getHandshakeSession() : null);
    }

    private String choose(String keyType, SSLSession handshake) {
        String sni = null;
        if (handshake instanceof ExtendedSSLSession e) {
            for (SNIServerName n : e.getRequestedServerNames()) if (n instanceof SNIHostName h) sni = h.getAsciiName().toLowerCase(Locale.ROOT);
        }
        String fallback = null;
        String host = sni;
        for (int i = 0; i < pairs.size(); i++) {
            Pair p = pairs.get(i);
            if (!p.key().getAlgorithm().equalsIgnoreCase(keyType)) continue;
            if (sni != null && CertificateNames.of(p.chain()[0]).stream().anyMatch(n -> CertificateNames.matches(n, host))) return p.alias(i);
            if (fallback == null) fallback = p.alias(i);
        }
        return fallback;
    }

    private Pair pair(String alias) {
        if (alias == null || !alias.startsWith("pair")) return null;
        int i = Integer.parseInt(alias.substring(4));
        return i < pairs.size() ? pairs.get(i) : null;
    }

    @Override public X509Certificate[] getCertificateChain(String alias) {
        Pair p = pair(alias);
        return p == null ? null : p.chain().clone();
    }

    @Override public PrivateKey getPrivateKey(String alias) {
        Pair p = pair(alias);
        return p == null ? null : p.key();
    }

    @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) if (pairs.get(i).key().getAlgorithm().equalsIgnoreCase(keyType)) out.add(pairs.get(i).alias(i));
        return out.isEmpty() ? null : out.toArray(new String[0]);
    }

    @Override public String[] getClientAliases(String keyType, Principal[] issuers) { return null; }

    @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) { return null; }
}
