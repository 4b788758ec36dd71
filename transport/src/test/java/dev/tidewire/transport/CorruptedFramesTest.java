package dev.tidewire.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.ChecksumMismatchException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import dev.tidewire.testing.RawClient;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bits flipped inside frames in transit (a faulty middlebox between client and server): with
 * default options the CRC32C trailer catches every one, so a corrupted reply is never delivered as
 * a success; the connection fails with a protocol error and its calls with a typed error.
 */
class CorruptedFramesTest {
    private TidewireServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static byte[] body(int i) {
        return ("{\"seq\":" + i + ",\"text\":\"some payload to echo\"}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void corruptedRepliesNeverSucceedWithDefaultOptions() throws Exception {
        server = TidewireServer.builder().build().start();
        try (FaultProxy proxy = new FaultProxy(server.address())) {
            Connection c = Connection.open(proxy.address(), ConnectionOptions.defaults());
            try {
                assertTrue(((MultiplexedConnection) c).checksum(), "checksums are on by default without TLS");
                proxy.corruptServerPayloads();
                int changed = 0;
                List<TidewireException> failures = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    byte[] body = body(i);
                    try {
                        byte[] reply = c.call("echo", body, Duration.ofSeconds(5)).join();
                        if (!Arrays.equals(body, reply)) {
                            changed++;
                        }
                    } catch (CompletionException e) {
                        failures.add(assertInstanceOf(TidewireException.class, e.getCause()));
                    }
                }
                assertTrue(proxy.corrupted() > 0, "the proxy corrupted no reply");
                assertEquals(0, changed, "calls that succeeded with a corrupted reply");
                // the call whose reply was corrupted: lost, outcome unknown, and the message says why
                TidewireException first = failures.get(0);
                assertInstanceOf(ConnectionLostException.class, first, first.toString());
                assertTrue(first.getMessage().contains("checksum mismatch"), first.getMessage());
                await().atMost(Duration.ofSeconds(5)).until(() -> c.state() == Connection.State.CLOSED);
                assertInstanceOf(ChecksumMismatchException.class, c.closeReason());
                assertEquals(0, ((MultiplexedConnection) c).pendingCount());
            } finally {
                c.close();
            }
        }
    }

    @Test
    void everyPendingCallFailsWhenOneReplyIsCorrupted() throws Exception {
        server = TidewireServer.builder().build().start();
        try (FaultProxy proxy = new FaultProxy(server.address())) {
            Connection c = Connection.open(proxy.address(), ConnectionOptions.defaults());
            try {
                List<CompletableFuture<byte[]>> slow = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    slow.add(c.call("sleep", "{\"millis\":60000}".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30)));
                }
                proxy.corruptServerPayloads();
                CompletableFuture<byte[]> echo = c.call("echo", body(1), Duration.ofSeconds(5));
                slow.add(echo);
                for (CompletableFuture<byte[]> f : slow) {
                    TidewireException e = CallOutcomesTest.failure(f);
                    assertInstanceOf(ConnectionLostException.class, e, e.toString());
                    assertInstanceOf(ChecksumMismatchException.class, e.getCause());
                }
            } finally {
                c.close();
            }
        }
    }

    @Test
    void theServerAnswersACorruptedRequestWithChecksumMismatchAndCloses() throws Exception {
        server = TidewireServer.builder().build().start();
        try (RawClient raw = new RawClient(server.address())) {
            assertTrue(raw.helloWithChecksum().checksum(), "the server offers CRC32C");
            assertTrue(raw.checksum());
            byte[] ok = FrameEncoder.encode(new Frame(FrameType.REQUEST, 1, RequestPayload.encode("echo", body(1))), true);
            raw.sendRaw(ok);
            Frame reply = raw.next();
            assertEquals(FrameType.RESPONSE, reply.type());
            assertArrayEquals(body(1), reply.payload());
            byte[] bad = FrameEncoder.encode(new Frame(FrameType.REQUEST, 2, RequestPayload.encode("echo", body(2))), true);
            bad[30] ^= 0x08; // one bit of the body
            raw.sendRaw(bad);
            Frame error = raw.next(); // itself checked against its trailer
            assertEquals(FrameType.ERROR, error.type());
            assertEquals(0, error.requestId());
            ErrorPayload payload = ErrorPayload.decode(error.payload());
            assertEquals(ErrorCode.CHECKSUM_MISMATCH, payload.code());
            assertTrue(payload.message().contains("CRC32C"), payload.message());
            assertTrue(raw.awaitClosed());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().protocolErrors() == 1);
        assertEquals(1, server.stats().requests(), "the corrupted request was never handled");
    }

    @Test
    void withChecksumsOffTheCorruptionIsNotDetected() throws Exception {
        // the control: what the trailer buys (this is also every connection before this feature)
        server = TidewireServer.builder().build().start();
        try (FaultProxy proxy = new FaultProxy(server.address())) {
            Connection c = Connection.open(proxy.address(),
                    ConnectionOptions.builder().checksum(ChecksumMode.OFF).build());
            try {
                proxy.corruptServerPayloads();
                byte[] reply = c.call("echo", body(1), Duration.ofSeconds(5)).join();
                assertTrue(!Arrays.equals(body(1), reply), "the corruption went through unnoticed");
                assertNull(c.closeReason());
            } finally {
                c.close();
            }
        }
    }
}
