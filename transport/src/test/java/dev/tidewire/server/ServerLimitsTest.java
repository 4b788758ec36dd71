package dev.tidewire.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.testing.RawClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reference server's limits, each driven by a raw client speaking the wire format by hand. */
class ServerLimitsTest {
    private TidewireServer server;

    private TidewireServer start(TidewireServer.Builder b) {
        server = b.build().start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Frame request(long id, String op, String json) {
        return new Frame(FrameType.REQUEST, id, RequestPayload.encode(op, json.getBytes(StandardCharsets.UTF_8)));
    }

    private static ErrorPayload error(Frame f) {
        assertNotNull(f, "expected a frame, the server closed");
        assertEquals(FrameType.ERROR, f.type(), f.toString());
        return ErrorPayload.decode(f.payload());
    }

    @Test
    void helloAnnouncesTheLimits() throws Exception {
        start(TidewireServer.builder().maxFrameSize(64 * 1024).maxInFlightPerConnection(7));
        try (RawClient c = new RawClient(server.address())) {
            Hello hello = c.hello();
            assertEquals(64 * 1024, hello.maxFrameSize());
            assertEquals(7, hello.maxInFlight());
        }
    }

    @Test
    void anOversizeFrameGetsFrameTooLargeAndTheConnectionCloses() throws Exception {
        start(TidewireServer.builder().maxFrameSize(8 * 1024));
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            ByteBuffer header = ByteBuffer.allocate(16);
            FrameEncoder.writeHeader(header, FrameType.REQUEST, 1, 100_000);
            c.sendRaw(header.array());
            Frame f = c.next();
            assertEquals(0, f.requestId());
            assertEquals(ErrorCode.FRAME_TOO_LARGE, error(f).code());
            assertTrue(c.awaitClosed());
        }
        assertEquals(1, server.stats().protocolErrors());
    }

    @Test
    void garbageGetsAProtocolErrorAndTheConnectionCloses() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.sendRaw("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(ErrorCode.PROTOCOL_ERROR, error(c.next()).code());
            assertTrue(c.awaitClosed());
        }
    }

    @Test
    void aRequestBeforeHelloIsAProtocolError() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.send(request(1, "echo", "{}"));
            assertEquals(ErrorCode.PROTOCOL_ERROR, error(c.next()).code());
            assertTrue(c.awaitClosed());
        }
    }

    @Test
    void requestIdsMustRise() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(5, "echo", "{}"));
            assertEquals(FrameType.RESPONSE, c.next().type());
            c.send(request(5, "echo", "{}"));
            ErrorPayload e = error(c.next());
            assertEquals(ErrorCode.PROTOCOL_ERROR, e.code());
            assertTrue(e.message().contains("rise"), e.message());
            assertTrue(c.awaitClosed());
        }
    }

    @Test
    void aMalformedOpPrefixFailsOnlyThatRequest() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(new Frame(FrameType.REQUEST, 1, new byte[] {50, 'e'}));
            Frame f = c.next();
            assertEquals(1, f.requestId());
            assertEquals(ErrorCode.BAD_REQUEST, error(f).code());
            c.send(request(2, "echo", "{\"still\":\"open\"}"));
            Frame ok = c.next();
            assertEquals(FrameType.RESPONSE, ok.type());
            assertEquals("{\"still\":\"open\"}", new String(ok.payload(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void requestsOverTheInFlightLimitAreRefusedOverloaded() throws Exception {
        start(TidewireServer.builder().maxInFlightPerConnection(2));
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":500}"));
            c.send(request(2, "sleep", "{\"millis\":500}"));
            c.send(request(3, "echo", "{}"));
            Frame f = c.next();
            assertEquals(3, f.requestId());
            assertEquals(ErrorCode.OVERLOADED, error(f).code());
            assertEquals(2, server.stats().maxObservedInFlight());
            assertEquals(1, server.stats().rejectedOverloaded());
        }
    }

    @Test
    void errorFramesFitTheSmallestFrameLimitAClientMayDeclare() {
        String escapes = "\u0001".repeat(5000);          // 6 bytes each once JSON-escaped
        String emoji = "\uD83D\uDE00".repeat(3000);      // surrogate pairs must not be split
        for (String message : new String[] {escapes, emoji, "short"}) {
            Frame f = ServerConnection.errorFrame(1, 1042, message);
            assertTrue(f.payload().length <= dev.tidewire.protocol.Protocol.MIN_MAX_FRAME_SIZE, "" + f.payload().length);
            ErrorPayload e = ErrorPayload.decode(f.payload());
            assertEquals(1042, e.code());
            assertTrue(e.message().codePoints().noneMatch(cp -> cp >= 0xD800 && cp <= 0xDFFF), "no lone surrogate");
        }
        assertEquals("short", ErrorPayload.decode(ServerConnection.errorFrame(1, 1, "short").payload()).message());
    }

    @Test
    void pingIsAnsweredWithPongCarryingTheSameId() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(Frame.of(FrameType.PING, 0xABCDEFL));
            Frame pong = c.next();
            assertEquals(FrameType.PONG, pong.type());
            assertEquals(0xABCDEFL, pong.requestId());
        }
    }

    @Test
    void aClientThatNeverSendsHelloIsDropped() throws Exception {
        start(TidewireServer.builder().helloTimeout(Duration.ofMillis(300)));
        try (RawClient c = new RawClient(server.address())) {
            long start = System.nanoTime();
            assertTrue(c.awaitClosed());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 250 && ms < 2000, "dropped after " + ms + " ms");
        }
    }

    @Test
    void anIdleConnectionIsClosed() throws Exception {
        start(TidewireServer.builder().idleTimeout(Duration.ofMillis(400)));
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            assertTrue(c.awaitClosed());
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().connectionsOpen() == 0);
    }

    @Test
    void connectionsOverTheLimitAreRefused() throws Exception {
        start(TidewireServer.builder().maxConnections(1));
        try (RawClient first = new RawClient(server.address())) {
            first.hello();
            try (RawClient second = new RawClient(server.address())) {
                assertEquals(ErrorCode.OVERLOADED, error(second.next()).code());
                assertTrue(second.awaitClosed());
            }
        }
    }

    @Test
    void aSlowBlockingHandlerDoesNotStopOtherConnections() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        start(TidewireServer.builder().handlerThreads(1)
                .blockingHandler("stuck", req -> {
                    release.await(10, TimeUnit.SECONDS);
                    return req.body();
                }));
        try (RawClient a = new RawClient(server.address()); RawClient b = new RawClient(server.address())) {
            a.hello();
            b.hello();
            a.send(request(1, "stuck", "{}"));
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
            b.send(request(1, "echo", "{\"b\":1}"));
            Frame reply = b.next();
            assertEquals(FrameType.RESPONSE, reply.type(), "b was served while a's handler was stuck");
            a.send(Frame.of(FrameType.PING, 1));
            assertEquals(FrameType.PONG, a.next().type(), "a's own connection is still read");
            release.countDown();
            assertEquals(FrameType.RESPONSE, a.next().type());
        }
    }

    @Test
    void cancelInterruptsABlockingHandlerAndSendsNoReply() throws Exception {
        AtomicBoolean interrupted = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(1);
        start(TidewireServer.builder().blockingHandler("wait", req -> {
            started.countDown();
            try {
                new CountDownLatch(1).await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted.set(true);
                throw e;
            }
            return req.body();
        }));
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "wait", "{}"));
            assertTrue(started.await(2, TimeUnit.SECONDS));
            c.send(Frame.of(FrameType.CANCEL, 1));
            await().atMost(Duration.ofSeconds(2)).untilTrue(interrupted);
            c.send(request(2, "echo", "{}"));
            Frame next = c.next();
            assertEquals(2, next.requestId(), "no reply for the cancelled request: " + next);
            assertEquals(1, server.stats().cancelled());
        }
    }

    @Test
    void repliesGoOutInCompletionOrder() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":300}"));
            c.send(request(2, "sleep", "{\"millis\":10}"));
            c.send(request(3, "echo", "{}"));
            assertEquals(3, c.next().requestId());
            assertEquals(2, c.next().requestId());
            assertEquals(1, c.next().requestId());
        }
    }
}
