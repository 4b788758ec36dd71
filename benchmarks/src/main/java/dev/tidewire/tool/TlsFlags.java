package dev.tidewire.tool;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.TlsConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The TLS flags shared by {@code serve}, {@code call} and {@code load}: PKCS12 key and trust stores
 * with one password, and whether the server requires client certificates (mutual TLS).
 *
 * <pre>
 * serve --port 7000 --tls-keystore server.p12 --tls-password pw [--tls-truststore ca.p12 --tls-client-auth]
 * call  --address localhost:7000 --op echo --tls-truststore ca.p12 --tls-password pw [--tls-keystore client.p12] '{}'
 * </pre>
 */
public final class TlsFlags {
    /** The flags that take a value. */
    public static final Set<String> VALUED = Set.of("tls-keystore", "tls-truststore", "tls-password");
    /** The switch for mutual TLS on a server. */
    public static final String CLIENT_AUTH = "tls-client-auth";

    private final Path keyStore;
    private final Path trustStore;
    private final char[] password;
    private final boolean clientAuth;
    private TlsConfig client;       // built on first use: loading a key store is not free
    private TlsConfig server;

    private TlsFlags(Path keyStore, Path trustStore, char[] password, boolean clientAuth) {
        this.keyStore = keyStore;
        this.trustStore = trustStore;
        this.password = password;
        this.clientAuth = clientAuth;
    }

    /** {@code base} plus the TLS flags that take a value. */
    public static Set<String> with(Set<String> base) {
        Set<String> all = new HashSet<>(base);
        all.addAll(VALUED);
        return all;
    }

    /** Reads the flags; none given means plain TCP. */
    public static TlsFlags parse(Args a) {
        Path keyStore = file(a, "tls-keystore");
        Path trustStore = file(a, "tls-truststore");
        boolean clientAuth = a.has(CLIENT_AUTH);
        if (keyStore == null && trustStore == null) {
            if (clientAuth || a.has("tls-password")) {
                throw new UsageException("--" + CLIENT_AUTH + " and --tls-password need --tls-keystore or --tls-truststore");
            }
            return new TlsFlags(null, null, null, false);
        }
        return new TlsFlags(keyStore, trustStore, a.required("tls-password").toCharArray(), clientAuth);
    }

    /** Whether any TLS flag was given. */
    public boolean enabled() {
        return keyStore != null || trustStore != null;
    }

    /** {@code b} with these flags' client TLS settings; unchanged when no TLS flag was given. */
    public TidewireClient.Builder applyTo(TidewireClient.Builder b) {
        return enabled() ? b.tls(clientConfig()) : b;
    }

    /** {@code b} with these flags' server TLS settings; unchanged when no TLS flag was given. */
    public TidewireServer.Builder applyTo(TidewireServer.Builder b) {
        return enabled() ? b.tls(serverConfig(), clientAuth) : b;
    }

    /** For a client: trust the trust store (else the JDK's), present the key store if given (mutual TLS). */
    public TlsConfig clientConfig() {
        if (client == null) {
            client = buildClientConfig();
        }
        return client;
    }

    private TlsConfig buildClientConfig() {
        TlsConfig.Builder b = TlsConfig.builder();
        if (trustStore != null) {
            b.trustStore(trustStore, password);
        }
        if (keyStore != null) {
            b.keyStore(keyStore, password);
        }
        return b.build();
    }

    /** For a server: present the key store; with client auth, trust clients signed by the trust store. */
    public TlsConfig serverConfig() {
        if (server == null) {
            server = buildServerConfig();
        }
        return server;
    }

    private TlsConfig buildServerConfig() {
        if (keyStore == null) {
            throw new UsageException("a TLS server needs --tls-keystore");
        }
        if (clientAuth && trustStore == null) {
            throw new UsageException("--" + CLIENT_AUTH + " needs --tls-truststore (the CA of the client certificates)");
        }
        TlsConfig.Builder b = TlsConfig.builder().keyStore(keyStore, password);
        if (trustStore != null) {
            b.trustStore(trustStore, password);
        }
        return b.build();
    }

    /** Whether a server requires client certificates. */
    public boolean clientAuth() {
        return clientAuth;
    }

    private static Path file(Args a, String name) {
        String v = a.string(name, null);
        if (v == null) {
            return null;
        }
        Path p = Path.of(v);
        if (!Files.isReadable(p)) {
            throw new UsageException("--" + name + ": cannot read " + v);
        }
        return p;
    }
}
