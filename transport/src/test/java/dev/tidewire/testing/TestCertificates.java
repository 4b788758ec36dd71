package dev.tidewire.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Certificates for TLS tests, made at test time with the JDK's {@code keytool} (no Bouncy Castle):
 * a test CA, stores signed by it, and stores that must be rejected. Every store is PKCS12 with the
 * password {@link #PASSWORD}. Generation takes a few seconds (one JVM per keytool run); make one
 * instance per test class, in a {@code @TempDir}.
 *
 * <ul>
 *   <li>{@link #caTrustStore()}: trusts the test CA only;</li>
 *   <li>{@link #server()}: CN=localhost, SAN dns:localhost and ip:127.0.0.1, signed by the CA;</li>
 *   <li>{@link #client()}: CN=test-client, signed by the CA (for mutual TLS);</li>
 *   <li>{@link #expiredServer()}: like {@code server()} but valid only for a day, ten days ago;</li>
 *   <li>{@link #wrongHostServer()}: signed by the CA, SAN only dns:example.com;</li>
 *   <li>{@link #unknownCaServer()}: like {@code server()} but signed by another CA;</li>
 *   <li>{@link #unknownCaClient()}: a client certificate signed by that other CA.</li>
 * </ul>
 */
public final class TestCertificates {
    /** Password of every store. */
    public static final String PASSWORD = "test-pass";

    private final Path dir;

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** Generates every store into {@code dir}. */
    public static TestCertificates generate(Path dir) {
        TestCertificates c = new TestCertificates(dir);
        CompletableFuture<Void> otherCa = CompletableFuture.runAsync(() -> c.makeCa("otherca", "CN=Unknown Test CA"));
        c.makeCa("ca", "CN=Tidewire Test CA");
        otherCa.join();
        keytool(dir, "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "trust.p12");
        List<CompletableFuture<Void>> leaves = new ArrayList<>();
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("server", "CN=localhost", "ca",
                "san=dns:localhost,ip:127.0.0.1", null)));
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("client", "CN=test-client", "ca", null, null)));
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("expired", "CN=localhost", "ca",
                "san=dns:localhost,ip:127.0.0.1", "-10d")));
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("wronghost", "CN=example.com", "ca",
                "san=dns:example.com", null)));
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("unknownca", "CN=localhost", "otherca",
                "san=dns:localhost,ip:127.0.0.1", null)));
        leaves.add(CompletableFuture.runAsync(() -> c.makeLeaf("unknownclient", "CN=stranger", "otherca", null, null)));
        CompletableFuture.allOf(leaves.toArray(CompletableFuture[]::new)).join();
        return c;
    }

    public char[] password() {
        return PASSWORD.toCharArray();
    }

    public Path caTrustStore() {
        return dir.resolve("trust.p12");
    }

    public Path server() {
        return dir.resolve("server.p12");
    }

    public Path client() {
        return dir.resolve("client.p12");
    }

    public Path expiredServer() {
        return dir.resolve("expired.p12");
    }

    public Path wrongHostServer() {
        return dir.resolve("wronghost.p12");
    }

    public Path unknownCaServer() {
        return dir.resolve("unknownca.p12");
    }

    public Path unknownCaClient() {
        return dir.resolve("unknownclient.p12");
    }

    private void makeCa(String name, String dname) {
        keytool(dir, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", dname,
                "-ext", "bc:c", "-validity", "30", "-keystore", name + ".p12");
        keytool(dir, "-exportcert", "-rfc", "-alias", "ca", "-keystore", name + ".p12", "-file", name + ".pem");
    }

    /** A key pair in {@code name.p12} with its certificate signed by {@code ca} and the chain imported. */
    private void makeLeaf(String name, String dname, String ca, String san, String startDate) {
        String store = name + ".p12";
        keytool(dir, "-genkeypair", "-alias", "key", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", dname,
                "-validity", "30", "-keystore", store);
        keytool(dir, "-certreq", "-alias", "key", "-keystore", store, "-file", name + ".csr");
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore", ca + ".p12",
                "-infile", name + ".csr", "-outfile", name + ".pem", "-ext", "eku=serverAuth,clientAuth"));
        if (san != null) {
            gencert.addAll(List.of("-ext", san));
        }
        if (startDate != null) {
            gencert.addAll(List.of("-startdate", startDate, "-validity", "1"));
        } else {
            gencert.addAll(List.of("-validity", "30"));
        }
        keytool(dir, gencert.toArray(String[]::new));
        try {
            // the reply: the leaf followed by its CA, so keytool can build the chain
            Files.writeString(dir.resolve(name + "-chain.pem"), Files.readString(dir.resolve(name + ".pem"))
                    + Files.readString(dir.resolve(ca + ".pem")), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        keytool(dir, "-importcert", "-noprompt", "-alias", "key", "-keystore", store, "-file", name + "-chain.pem");
    }

    private static void keytool(Path dir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
        if (!args[0].equals("-exportcert")) {
            cmd.addAll(List.of("-keypass", PASSWORD));
        }
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("keytool timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("keytool failed (" + p.exitValue() + "): " + String.join(" ", args)
                        + "\n" + new String(output, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running keytool", e);
        }
    }
}
