package dev.tidewire.transport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Immutable TLS settings: an {@link SSLContext}, either given or built from PKCS12 key and trust
 * stores. Used by the client ({@code ConnectionOptions.Builder.tls}, {@code TidewireClient.Builder.tls})
 * and the server ({@code TidewireServer.Builder.tls}).
 *
 * <pre>{@code
 * TlsConfig tls = TlsConfig.builder()
 *         .trustStore(Path.of("ca.p12"), "changeit".toCharArray())      // whom to trust
 *         .keyStore(Path.of("client.p12"), "changeit".toCharArray())    // own certificate (mutual TLS)
 *         .build();
 * }</pre>
 *
 * <p>The client always verifies the server's host name against its certificate (endpoint
 * identification "HTTPS"); there is no switch to trust every certificate. Without a trust store
 * the JDK's default trust store is used. Passwords are not kept after {@link Builder#build()}.
 */
public final class TlsConfig {
    private final SSLContext sslContext;
    private final KeyManagerFactory keyManagers;
    private final TrustManagerFactory trustManagers;
    private final boolean fromStores;

    private TlsConfig(SSLContext sslContext, KeyManagerFactory keyManagers, TrustManagerFactory trustManagers,
            boolean fromStores) {
        this.sslContext = sslContext;
        this.keyManagers = keyManagers;
        this.trustManagers = trustManagers;
        this.fromStores = fromStores;
    }

    /** A builder with no stores. */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings that use this context as it is. */
    public static TlsConfig of(SSLContext sslContext) {
        return new TlsConfig(Objects.requireNonNull(sslContext, "sslContext"), null, null, false);
    }

    /**
     * The JDK context these settings describe. When the settings were built from key and trust
     * stores, connections use OpenSSL (BoringSSL) where it loads, with the same stores, and this
     * context only where it does not; a context given with {@link #of} is always used as it is.
     */
    public SSLContext sslContext() {
        return sslContext;
    }

    /**
     * Whether the settings were built from key and trust stores (so the transport may run them on
     * OpenSSL), rather than given as a ready {@link SSLContext}.
     */
    public boolean builtFromStores() {
        return fromStores;
    }

    /** The key managers built from {@link Builder#keyStore}, or null when none was given. */
    public KeyManagerFactory keyManagerFactory() {
        return keyManagers;
    }

    /** The trust managers built from {@link Builder#trustStore}, or null (the JDK's default trust). */
    public TrustManagerFactory trustManagerFactory() {
        return trustManagers;
    }

    @Override
    public String toString() {
        return "TlsConfig[protocol=" + sslContext.getProtocol() + "]";
    }

    /** Builds a {@link TlsConfig}. Not thread-safe. */
    public static final class Builder {
        private Path trustStore;
        private char[] trustStorePassword;
        private Path keyStore;
        private char[] keyStorePassword;
        private SSLContext sslContext;

        private Builder() {
        }

        /** PKCS12 store of the certificate authorities to trust; default the JDK's trust store. */
        public Builder trustStore(Path path, char[] password) {
            this.trustStore = readable("trustStore", path);
            this.trustStorePassword = Objects.requireNonNull(password, "trustStore password").clone();
            return this;
        }

        /**
         * PKCS12 store holding this side's private key and certificate chain: required on a
         * server, and on a client that talks to a server requiring client certificates (mutual TLS).
         */
        public Builder keyStore(Path path, char[] password) {
            this.keyStore = readable("keyStore", path);
            this.keyStorePassword = Objects.requireNonNull(password, "keyStore password").clone();
            return this;
        }

        /** A ready context; excludes {@link #trustStore} and {@link #keyStore}. */
        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = Objects.requireNonNull(sslContext, "sslContext");
            return this;
        }

        /**
         * @throws IllegalArgumentException if a store cannot be read or opened with its password,
         *                                  or both a context and stores are given
         */
        public TlsConfig build() {
            if (sslContext != null) {
                if (trustStore != null || keyStore != null) {
                    throw new IllegalArgumentException("tls: give either sslContext or trustStore/keyStore, not both");
                }
                return new TlsConfig(sslContext, null, null, false);
            }
            try {
                KeyManagerFactory kmf = null;
                if (keyStore != null) {
                    kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                    kmf.init(load("keyStore", keyStore, keyStorePassword), keyStorePassword);
                }
                TrustManagerFactory tmf = null;
                if (trustStore != null) {
                    tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                    tmf.init(load("trustStore", trustStore, trustStorePassword));
                }
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
                return new TlsConfig(context, kmf, tmf, true);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("tls: cannot build an SSLContext: " + e.getMessage(), e);
            } finally {
                clear(trustStorePassword);
                clear(keyStorePassword);
            }
        }

        private static KeyStore load(String name, Path path, char[] password) throws GeneralSecurityException {
            try (InputStream in = Files.newInputStream(path)) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(in, password);
                return ks;
            } catch (IOException e) {
                throw new IllegalArgumentException(name + " " + path + " cannot be opened (wrong password or not"
                        + " PKCS12?): " + e.getMessage(), e);
            }
        }

        private static Path readable(String name, Path path) {
            Objects.requireNonNull(path, name);
            if (!Files.isReadable(path)) {
                throw new IllegalArgumentException(name + " " + path + " is not a readable file");
            }
            return path;
        }

        private static void clear(char[] password) {
            if (password != null) {
                java.util.Arrays.fill(password, '\0');
            }
        }
    }
}
