package dev.tidewire.tool.compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The TLS material of one {@code compare} run, made with the JDK's {@code keytool} into a fresh
 * temporary directory and deleted by {@link #close()}: a CA, a server key store signed by it
 * (CN=localhost, SAN dns:localhost and ip:127.0.0.1, EC P-256) and a trust store holding the CA.
 * Both stores are PKCS12 with one random password.
 */
final class CompareCertificates implements AutoCloseable {
    private static final long KEYTOOL_TIMEOUT_SECONDS = 60;

    private final Path dir;
    private final char[] password;

    private CompareCertificates(Path dir, char[] password) {
        this.dir = dir;
        this.password = password;
    }

    /** Generates the CA, the server key store and the trust store into a new temporary directory. */
    static CompareCertificates generate() {
        Path dir;
        try {
            dir = Files.createTempDirectory("tidewire-compare-tls-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a directory for the certificates", e);
        }
        CompareCertificates c = new CompareCertificates(dir, UUID.randomUUID().toString().toCharArray());
        try {
            // the server's key pair and request while the CA is made
            CompletableFuture<Void> serverKey = CompletableFuture.runAsync(() -> {
                c.keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=localhost", "-validity", "2", "-keystore", "server.p12");
                c.keytool("-certreq", "-alias", "server", "-keystore", "server.p12", "-file", "server.csr");
            });
            c.keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-dname", "CN=Tidewire compare CA", "-ext", "bc:c", "-validity", "2", "-keystore", "ca.p12");
            c.keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem");
            c.keytool("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "trust.p12");
            serverKey.join();
            c.keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-infile", "server.csr",
                    "-outfile", "server.pem", "-ext", "san=dns:localhost,ip:127.0.0.1", "-ext", "eku=serverAuth",
                    "-validity", "2");
            // the reply: the leaf followed by its CA, so keytool can build the chain
            Files.writeString(dir.resolve("server-chain.pem"), Files.readString(dir.resolve("server.pem"))
                    + Files.readString(dir.resolve("ca.pem")), StandardCharsets.US_ASCII);
            c.keytool("-importcert", "-noprompt", "-alias", "server", "-keystore", "server.p12",
                    "-file", "server-chain.pem");
            return c;
        } catch (IOException e) {
            c.close();
            throw new UncheckedIOException("cannot write the certificate chain", e);
        } catch (CompletionException e) {
            c.close();
            throw e.getCause() instanceof RuntimeException r ? r : e;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The server's PKCS12 key store (key and chain). */
    Path serverKeyStore() {
        return dir.resolve("server.p12");
    }

    /** The PKCS12 trust store with the CA. */
    Path trustStore() {
        return dir.resolve("trust.p12");
    }

    /** The password of both stores. */
    char[] password() {
        return password.clone();
    }

    /** Deletes the directory and everything in it. */
    @Override
    public void close() {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the certificates in " + dir, e);
        }
    }

    private void keytool(String... args) {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> cmd = new ArrayList<>();
        cmd.add(keytool.toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", new String(password)));
        if (!args[0].equals("-exportcert")) {
            cmd.addAll(List.of("-keypass", new String(password)));
        }
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("keytool " + args[0] + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("keytool " + args[0] + " failed (" + p.exitValue() + "): "
                        + new String(output, StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + keytool + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running keytool", e);
        }
    }
}
