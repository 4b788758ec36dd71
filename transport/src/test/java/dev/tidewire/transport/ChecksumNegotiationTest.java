package dev.tidewire.transport;

import static dev.tidewire.transport.SeedScenarioTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.RawClient;
import dev.tidewire.testing.ScriptedPeer;
import dev.tidewire.testing.TestCertificates;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who offers CRC32C in HELLO, what gets used, and that peers without the feature keep working. */
class ChecksumNegotiationTest {
    @TempDir
    Path dir;

    private static boolean checksum(Connection c) {
        return ((MultiplexedConnection) c).checksum();
    }

    private static void echoes(Connection c, int bytes) {
        byte[] body = new byte[bytes];
        new Random(bytes).nextBytes(body);
        assertArrayEquals(body, c.call("echo", body, Duration.ofSeconds(10)).join());
    }

    @Test
    void optionsDefaultToAutoWhichIsOnWithoutTlsAndOffWithIt() {
        ConnectionOptions plain = ConnectionOptions.defaults();
        assertEquals(ChecksumMode.AUTO, plain.checksum());
        assertTrue(plain.checksumOffered());
        TlsConfig tls = TlsConfig.builder().build();
        assertFalse(plain.toBuilder().tls(tls).build().checksumOffered());
        assertTrue(plain.toBuilder().tls(tls).checksum(ChecksumMode.ON).build().checksumOffered());
        assertFalse(plain.toBuilder().checksum(ChecksumMode.OFF).build().checksumOffered());
        assertEquals(ChecksumMode.ON, plain.toBuilder().checksum(ChecksumMode.ON).build().toBuilder().build().checksum());
        assertThrows(NullPointerException.class, () -> ConnectionOptions.builder().checksum(null));
        assertThrows(NullPointerException.class, () -> TidewireServer.builder().checksum(null));
    }

    @Test
    void bothDefaultsOnPlainTcpUseChecksumsForSmallAndLargeFramesBothWays() {
        try (TidewireServer server = TidewireServer.builder().build().start();
             Connection c = Connection.open(server.address(), ConnectionOptions.defaults())) {
            assertTrue(checksum(c));
            echoes(c, 0);
            echoes(c, 100);
            echoes(c, 200 * 1024); // over the write buffer: header and body written apart; over one decoder chunk
            assertNull(c.closeReason());
        }
    }

    @Test
    void eitherSideTurningItOffMeansNoChecksums() {
        try (TidewireServer server = TidewireServer.builder().checksum(ChecksumMode.OFF).build().start();
             Connection c = Connection.open(server.address(), ConnectionOptions.defaults())) {
            assertFalse(checksum(c));
            echoes(c, 100);
        }
        try (TidewireServer server = TidewireServer.builder().build().start();
             Connection c = Connection.open(server.address(),
                     ConnectionOptions.builder().checksum(ChecksumMode.OFF).build())) {
            assertFalse(checksum(c));
            echoes(c, 100);
        }
    }

    @Test
    void aClientWithoutTheFeatureGetsPlainFramesFromACapableServer() throws Exception {
        try (TidewireServer server = TidewireServer.builder().build().start();
             RawClient old = new RawClient(server.address())) {
            Hello hello = old.hello(); // no "checksum" field: what every client before the feature sends
            assertTrue(hello.checksum(), "the server still offers it; an old client ignores the field");
            old.send(new Frame(FrameType.REQUEST, 1, RequestPayload.encode("echo", utf8("{\"a\":1}"))));
            old.send(Frame.of(FrameType.PING, 5));
            // decoded without trailers: a trailer would have been read as the next frame's magic
            assertEquals(new Frame(FrameType.RESPONSE, 1, utf8("{\"a\":1}")), old.next());
            assertEquals(Frame.of(FrameType.PONG, 5), old.next());
        }
    }

    @Test
    void aCapableClientTalksPlainFramesToAServerWithoutTheFeature() throws Exception {
        try (ScriptedPeer old = new ScriptedPeer()) { // its HELLO has no "checksum" field
            CompletableFuture<Connection> opening =
                    CompletableFuture.supplyAsync(() -> Connection.open(old.address(), ConnectionOptions.defaults()));
            old.acceptAndHello(8);
            try (Connection c = opening.get()) {
                assertFalse(checksum(c));
                CompletableFuture<byte[]> call = c.call("echo", utf8("{}"), Duration.ofSeconds(5));
                Frame request = old.nextFrame(FrameType.REQUEST); // decoded without trailers
                assertEquals("echo", RequestPayload.decode(request.payload()).op());
                old.send(new Frame(FrameType.RESPONSE, request.requestId(), utf8("{\"ok\":true}")));
                assertArrayEquals(utf8("{\"ok\":true}"), call.join());
            }
        }
    }

    @Test
    void underTlsChecksumsAreOffByDefaultAndOnWhenBothForceThem() {
        TestCertificates certs = TestCertificates.generate(dir);
        TlsConfig serverTls = TlsConfig.builder().keyStore(certs.server(), certs.password()).build();
        TlsConfig clientTls = TlsConfig.builder().trustStore(certs.caTrustStore(), certs.password()).build();
        try (TidewireServer server = TidewireServer.builder().tls(serverTls, false).build().start()) {
            try (Connection c = Connection.open(server.address(), ConnectionOptions.builder().tls(clientTls).build())) {
                assertFalse(checksum(c), "TLS records carry a MAC: no checksum by default");
                echoes(c, 100);
            }
            try (Connection c = Connection.open(server.address(),
                    ConnectionOptions.builder().tls(clientTls).checksum(ChecksumMode.ON).build())) {
                assertFalse(checksum(c), "the server (AUTO under TLS) does not offer it");
            }
        }
        try (TidewireServer server = TidewireServer.builder().tls(serverTls, false).checksum(ChecksumMode.ON).build().start();
             Connection c = Connection.open(server.address(),
                     ConnectionOptions.builder().tls(clientTls).checksum(ChecksumMode.ON).build())) {
            assertTrue(checksum(c), "forced on both sides: used under TLS too");
            echoes(c, 100);
            echoes(c, 200 * 1024);
        }
    }
}
