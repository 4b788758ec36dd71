package dev.tidewire.client.security;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.TidewireException;
import dev.tidewire.TlsException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.TestCertificates;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.TlsConfig;
import dev.tidewire.transport.TransportResources;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS through {@link TidewireClient}; every bad certificate is a fast, non-retryable {@link TlsException}. */
class TlsTest {
    @TempDir
    static Path dir;
    private static TestCertificates certs;
    private TidewireServer server;

    @BeforeAll
    static void certificates() {
        certs = TestCertificates.generate(dir);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    private static TlsConfig store(Path keyStore, Path trustStore) {
        TlsConfig.Builder b = TlsConfig.builder();
        if (keyStore != null) {
            b.keyStore(keyStore, certs.password());
        }
        if (trustStore != null) {
            b.trustStore(trustStore, certs.password());
        }
        return b.build();
    }

    private TidewireServer server(Path keyStore, boolean requireClientAuth) {
        server = TidewireServer.builder().helloTimeout(Duration.ofSeconds(2))
                .tls(store(keyStore, requireClientAuth ? certs.caTrustStore() : null), requireClientAuth)
                .build().start();
        return server;
    }

    private TidewireClient client(String host, TlsConfig tls) {
        return TidewireClient.builder().address(host + ":" + server.port()).maxConnections(2)
                .requestTimeout(Duration.ofSeconds(5)).connectBackoff(Duration.ofMillis(200), Duration.ofSeconds(2))
                .tls(tls).build();
    }

    @Test
    void aTlsCallWorksByHostNameAndByIpAddress() {
        server(certs.server(), false);
        for (String host : new String[] {"localhost", "127.0.0.1"}) {
            try (TidewireClient c = client(host, store(null, certs.caTrustStore()))) {
                assertEquals("over tls", c.call("echo", "over tls", String.class));
            }
        }
        assertEquals(0, server.stats().tlsHandshakeFailures());
    }

    @Test
    void mutualTlsWorks() {
        server(certs.server(), true);
        try (TidewireClient c = client("127.0.0.1", store(certs.client(), certs.caTrustStore()))) {
            assertEquals("mutual", c.call("echo", "mutual", String.class));
        }
    }

    @Test
    void aServerCertificateFromAnUnknownCaIsRejected() {
        server(certs.unknownCaServer(), false);
        assertRejected("127.0.0.1", store(null, certs.caTrustStore()), "PKIX");
    }

    @Test
    void anExpiredServerCertificateIsRejected() {
        server(certs.expiredServer(), false);
        assertRejected("127.0.0.1", store(null, certs.caTrustStore()), "validity");
    }

    @Test
    void aCertificateForAnotherHostIsRejected() {
        server(certs.wrongHostServer(), false);
        assertRejected("127.0.0.1", store(null, certs.caTrustStore()), "127.0.0.1");
        assertRejected("localhost", store(null, certs.caTrustStore()), "localhost");
    }

    @Test
    void aMissingClientCertificateIsRejectedWhenTheServerRequiresOne() {
        server(certs.server(), true);
        assertRejected("127.0.0.1", store(null, certs.caTrustStore()), null);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().tlsHandshakeFailures() >= 1);
    }

    @Test
    void aMissingClientCertificateIsATlsExceptionEveryTime() {
        // With TLS 1.3 the client learns of the refusal only after its handshake "completed",
        // while it waits for the server's HELLO: the alert must still become a TlsException.
        server(certs.server(), true);
        ConnectionOptions options = ConnectionOptions.builder().tls(store(null, certs.caTrustStore()))
                .connectTimeout(Duration.ofSeconds(5)).build();
        java.util.Map<String, Integer> outcomes = new java.util.TreeMap<>();
        try (TransportResources resources = TransportResources.create()) {
            for (int i = 0; i < 40; i++) {
                try {
                    Connection.open(server.address(), options, resources).close();
                    outcomes.merge("opened", 1, Integer::sum);
                } catch (RuntimeException e) {
                    outcomes.merge(e.getClass().getSimpleName() + ": " + e.getMessage().replaceAll("[0-9]+", "N"), 1,
                            Integer::sum);
                }
            }
        }
        assertEquals(1, outcomes.size(), outcomes.toString());
        assertTrue(outcomes.keySet().iterator().next().startsWith("TlsException"), outcomes.toString());
    }

    @Test
    void aTlsServerAtItsConnectionLimitGivesARetryableConnectFailure() {
        server = TidewireServer.builder().maxConnections(1)
                .tls(store(certs.server(), null), false).build().start();
        ConnectionOptions options = ConnectionOptions.builder().tls(store(null, certs.caTrustStore()))
                .connectTimeout(Duration.ofSeconds(5)).build();
        try (TransportResources resources = TransportResources.create();
             Connection first = Connection.open(server.address(), options, resources)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().connectionsOpen() == 1);
            dev.tidewire.ConnectFailedException e = assertThrows(dev.tidewire.ConnectFailedException.class,
                    () -> Connection.open(server.address(), options, resources));
            assertTrue(e.retryable());
            assertEquals(Connection.State.OPEN, first.state());
        }
    }

    @Test
    void aClientCertificateFromAnUnknownCaIsRejected() {
        server(certs.server(), true);
        assertRejected("127.0.0.1", store(certs.unknownCaClient(), certs.caTrustStore()), null);
    }

    @Test
    void aPlainClientGetsNoServiceFromATlsServer() {
        server(certs.server(), false);
        try (TidewireClient c = TidewireClient.builder().address("127.0.0.1:" + server.port())
                .connectTimeout(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(2)).build()) {
            assertThrows(TidewireException.class, () -> c.call("echo", "x", String.class));
        }
    }

    @Test
    void tlsOptionsAreValidatedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TlsConfig.builder().trustStore(dir.resolve("missing.p12"), certs.password()));
        assertTrue(e.getMessage().contains("trustStore"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TlsConfig.builder().trustStore(certs.caTrustStore(), "wrong".toCharArray()).build());
        assertTrue(e.getMessage().contains("trustStore"), e.getMessage());
    }

    /** The first call fails fast with TlsException; a burst of calls after it causes few connects. */
    private void assertRejected(String host, TlsConfig tls, String messagePart) {
        long acceptedBefore = server.stats().connectionsAccepted();
        try (TidewireClient c = client(host, tls)) {
            long start = System.nanoTime();
            TlsException e = assertThrows(TlsException.class, () -> c.call("echo", "x", String.class));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 2000, "rejected after " + ms + " ms; the call's deadline was 5 s");
            assertFalse(e.retryable());
            if (messagePart != null) {
                assertTrue(e.getMessage().contains(messagePart), e.getMessage());
            }
            for (int i = 0; i < 30; i++) {
                TidewireException again = assertThrows(TidewireException.class, () -> c.call("echo", "x", String.class));
                assertInstanceOf(TlsException.class, again, again.toString());
                assertFalse(again.retryable());
            }
            long total = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            long connects = server.stats().connectionsAccepted() - acceptedBefore;
            assertTrue(connects <= 2 + total / 200, connects + " connects in " + total + " ms (backoff 200 ms doubling)");
        }
    }
}
