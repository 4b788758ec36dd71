package dev.tidewire.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.testing.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The tool's TLS flags: serve and call over mutual TLS, and a TLS load run beside a plaintext one. */
@Timeout(120)
class TlsToolTest {
    @TempDir
    static Path dir;
    static TestCertificates certs;

    @BeforeAll
    static void certificates() {
        certs = TestCertificates.generate(dir);
    }

    @Test
    void serveAndCallOverMutualTls() throws Exception {
        ServeCommand serve = ServeCommand.parse(java.util.List.of("--port", "0", "--tls-keystore", certs.server().toString(),
                "--tls-truststore", certs.caTrustStore().toString(), "--tls-password", TestCertificates.PASSWORD,
                "--tls-client-auth"));
        try (ServeCommand.Running running = serve.start()) {
            String address = "localhost:" + running.port();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Main.run(new String[] {"call", "--address", address, "--op", "echo",
                    "--tls-truststore", certs.caTrustStore().toString(), "--tls-keystore", certs.client().toString(),
                    "--tls-password", TestCertificates.PASSWORD, "{\"val\":\"over tls\"}"},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
            assertEquals("{\"val\":\"over tls\"}", out.toString(StandardCharsets.UTF_8).strip());

            // without the client certificate the server refuses: a typed, non-retryable TLS error
            err.reset();
            code = Main.run(new String[] {"call", "--address", address, "--op", "echo", "--timeout-ms", "3000",
                    "--tls-truststore", certs.caTrustStore().toString(), "--tls-password", TestCertificates.PASSWORD, "{}"},
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(1, code);
            assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("error: TlsException (retryable=false)"),
                    err.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void demoRunsOverMutualTls() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo", "--seconds", "1", "--callers", "4", "--connections", "2",
                "--tls-keystore", certs.server().toString(), "--tls-truststore", certs.caTrustStore().toString(),
                "--tls-password", TestCertificates.PASSWORD, "--tls-client-auth"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, () -> printed + err);
        assertTrue(printed.contains("(mutual TLS)"), printed);
        assertTrue(printed.lines().anyMatch(l -> l.contains("rec1:") && l.contains("pixelpig!")), printed);
        assertTrue(printed.contains("errors      none"), printed);
    }

    @Test
    void demoWithATrustStoreButNoKeyStoreIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo", "--tls-truststore", certs.caTrustStore().toString(),
                "--tls-password", TestCertificates.PASSWORD}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--tls-keystore"), err::toString);
    }

    @Test
    void loadReportsTlsThroughputBesidePlaintext() throws Exception {
        JsonNode plain = load(dir.resolve("plain.json"));
        JsonNode tls = load(dir.resolve("tls.json"), "--tls-keystore", certs.server().toString(),
                "--tls-truststore", certs.caTrustStore().toString(), "--tls-password", TestCertificates.PASSWORD);
        assertTrue(!plain.path("config").path("tls").asBoolean() && tls.path("config").path("tls").asBoolean());
        for (JsonNode run : new JsonNode[] {plain, tls}) {
            JsonNode result = run.path("runs").get(0);
            assertTrue(result.path("calls").asLong() > 0, run.toString());
            assertEquals(0, result.path("errorCount").asLong(0) + result.path("errors").size(), run.toString());
        }
    }

    private static JsonNode load(Path json, String... tlsFlags) throws Exception {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("load", "--embedded", "--seconds", "1",
                "--warmup-seconds", "0", "--callers", "4", "--connections", "2", "--json", json.toString()));
        args.addAll(java.util.List.of(tlsFlags));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(json.toFile());
    }
}
