package dev.tidewire.tool.compare;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Reading PKCS12 stores for the gRPC TLS contexts (Tidewire reads them through {@code TlsConfig}). */
final class Pkcs12 {
    private Pkcs12() {
    }

    static KeyStore load(Path path, char[] password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(path)) {
            ks.load(in, password);
        }
        return ks;
    }

    /** The alias of the store's first private-key entry. */
    static String keyAlias(KeyStore ks) throws GeneralSecurityException {
        for (String alias : Collections.list(ks.aliases())) {
            if (ks.isKeyEntry(alias)) {
                return alias;
            }
        }
        throw new GeneralSecurityException("no private key in the key store");
    }

    /** Every trusted certificate of the store. */
    static X509Certificate[] certificates(KeyStore ks) throws GeneralSecurityException {
        List<X509Certificate> certs = new ArrayList<>();
        for (String alias : Collections.list(ks.aliases())) {
            if (ks.getCertificate(alias) instanceof X509Certificate c) {
                certs.add(c);
            }
        }
        if (certs.isEmpty()) {
            throw new GeneralSecurityException("no certificate in the trust store");
        }
        return certs.toArray(X509Certificate[]::new);
    }
}
