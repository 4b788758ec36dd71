package dev.tidewire.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.Metadata;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTooLargeException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.server.HandlerException;
import dev.tidewire.server.ServerRequest;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.RawClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Metadata and deadlines across the wire (protocol.md 4.6): the Java client, the reference server, raw frames. */
class MetadataAndDeadlineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private TidewireServer server;
    private Connection connection;

    @AfterEach
    void stop() {
        if (connection != null) {
            connection.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private Connection connect(TidewireServer.Builder builder) {
        server = builder.build().start();
        connection = Connection.open(server.address(), ConnectionOptions.defaults());
        return connection;
    }

    private static JsonNode json(byte[] b) throws Exception {
        return JSON.readTree(b);
    }

    @Test
    void metadataAndTheRemainingTimeReachTheHandler() throws Exception {
        Connection c = connect(TidewireServer.builder());
        assertTrue(c.supportsMetadata());
        Metadata md = Metadata.of("tenant", "acme").with("tenant", "b").withBinary("token-bin", new byte[] {1, 2, (byte) 0xFE});
        JsonNode reply = json(c.call("metadata", new byte[0], md, Deadline.after(Duration.ofSeconds(2)), null)
                .get(5, TimeUnit.SECONDS));
        long timeout = reply.get("timeoutMillis").asLong();
        assertTrue(timeout > 1000 && timeout <= 2000, "the request carried " + timeout + " ms of a 2 s deadline");
        assertEquals("[[\"tenant\",\"acme\"],[\"tenant\",\"b\"],[\"token-bin\",\"AQL+\"]]", reply.get("metadata").toString());
        // without metadata the request still carries its deadline
        JsonNode plain = json(c.call("metadata", new byte[0], Duration.ofMillis(700)).get(5, TimeUnit.SECONDS));
        assertTrue(plain.get("timeoutMillis").asLong() <= 700, plain.toString());
        assertEquals(0, plain.get("metadata").size());
    }

    @Test
    void aServerThatAnnouncesNoMetadataGetsPlainRequests() throws Exception {
        Connection c = connect(TidewireServer.builder().metadata(false));
        assertFalse(c.supportsMetadata());
        JsonNode reply = json(c.call("metadata", new byte[0], Metadata.of("tenant", "acme"),
                Deadline.after(Duration.ofSeconds(2)), null).get(5, TimeUnit.SECONDS));
        assertTrue(reply.get("timeoutMillis").isNull(), reply.toString());
        assertEquals(0, reply.get("metadata").size());
    }

    @Test
    void metadataOverTheServersLimitsFailsBeforeAnythingIsSent() throws Exception {
        Connection c = connect(TidewireServer.builder().metadataLimits(2, 64));
        Metadata three = Metadata.of("a", "1").with("b", "2").with("c", "3");
        CompletableFuture<byte[]> tooMany = c.call("echo", new byte[0], three, Deadline.after(Duration.ofSeconds(2)), null);
        RequestTooLargeException e = assertInstanceOf(RequestTooLargeException.class, CallOutcomesTest.failure(tooMany));
        assertTrue(e.getMessage().contains("at most 2 entries, 64 bytes"), e.getMessage());
        CompletableFuture<byte[]> tooBig = c.call("echo", new byte[0], Metadata.of("a", "x".repeat(64)),
                Deadline.after(Duration.ofSeconds(2)), null);
        assertInstanceOf(RequestTooLargeException.class, CallOutcomesTest.failure(tooBig));
        assertEquals("{}", new String(c.call("echo", "{}".getBytes(StandardCharsets.UTF_8), Metadata.of("a", "1"),
                Deadline.after(Duration.ofSeconds(2)), null).get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        assertEquals(1, server.stats().requests(), "only the call within the limits reached the server");
    }

    @Test
    void aRequestWhoseDeadlinePassesWhileQueuedIsAnsweredWithoutRunningItsHandler() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        server = TidewireServer.builder().handlerThreads(1).blockingHandler("block", r -> {
            runs.incrementAndGet();
            release.await(10, TimeUnit.SECONDS);
            return r.body();
        }).build().start();
        try (RawClient raw = new RawClient(server.address())) {
            raw.hello();
            raw.send(new Frame(FrameType.REQUEST_EXT, 1, RequestPayload.encodeExtended("block", 0, Metadata.EMPTY, new byte[0])));
            await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() == 1); // the only handler thread is busy
            long sent = System.nanoTime();
            raw.send(new Frame(FrameType.REQUEST_EXT, 2, RequestPayload.encodeExtended("block", 150, Metadata.EMPTY, new byte[0])));
            Frame answer = raw.next();
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            assertEquals(FrameType.ERROR, answer.type());
            assertEquals(2, answer.requestId());
            assertEquals(ErrorCode.DEADLINE_EXCEEDED, ErrorPayload.decode(answer.payload()).code());
            assertTrue(waited >= 140, "answered after " + waited + " ms, before the 150 ms deadline");
            release.countDown();
            Frame first = raw.next();
            assertEquals(FrameType.RESPONSE, first.type());
            assertEquals(1, first.requestId());
        }
        assertEquals(1, runs.get(), "the handler of the request whose deadline passed never ran");
        assertEquals(1, server.stats().deadlineExceeded());
    }

    @Test
    void theHandlersWaitIsCancelledWhenTheDeadlinePasses() throws Exception {
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicReference<ServerRequest> seen = new AtomicReference<>();
        server = TidewireServer.builder().blockingHandler("slow", r -> {
            seen.set(r);
            try {
                new CountDownLatch(1).await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted.set(true);
                throw e;
            }
            return r.body();
        }).build().start();
        try (RawClient raw = new RawClient(server.address())) {
            raw.hello();
            raw.send(new Frame(FrameType.REQUEST_EXT, 1, RequestPayload.encodeExtended("slow", 200, Metadata.EMPTY, new byte[0])));
            raw.send(new Frame(FrameType.REQUEST_EXT, 2, RequestPayload.encodeExtended("sleep", 200, Metadata.EMPTY,
                    "{\"millis\":60000}".getBytes(StandardCharsets.UTF_8))));
            for (int i = 0; i < 2; i++) {
                Frame answer = raw.next();
                assertEquals(FrameType.ERROR, answer.type(), answer.toString());
                assertEquals(ErrorCode.DEADLINE_EXCEEDED, ErrorPayload.decode(answer.payload()).code());
            }
            // the connection goes on
            raw.send(new Frame(FrameType.REQUEST, 3, RequestPayload.encode("echo", new byte[] {'1'})));
            assertEquals(FrameType.RESPONSE, raw.next().type());
        }
        await().atMost(Duration.ofSeconds(5)).untilTrue(interrupted);
        assertTrue(seen.get().isCancelled());
        assertEquals(2, server.stats().deadlineExceeded());
    }

    @Test
    void malformedMetadataIsAnsweredBadRequestAndTheConnectionStaysOpen() throws Exception {
        server = TidewireServer.builder().build().start();
        try (RawClient raw = new RawClient(server.address())) {
            Hello hello = raw.hello();
            assertEquals(Hello.MetadataLimits.DEFAULT, hello.metadata());
            byte[] payload = RequestPayload.encodeExtended("echo", 100, Metadata.of("k", "v"), new byte[0]);
            payload[1 + 4 + 6 + 1] = 'K'; // an upper-case key
            raw.send(new Frame(FrameType.REQUEST_EXT, 1, payload));
            Frame answer = raw.next();
            assertEquals(ErrorCode.BAD_REQUEST, ErrorPayload.decode(answer.payload()).code());
            raw.send(new Frame(FrameType.REQUEST, 2, new byte[] {2, (byte) 0xC3, 0x28}));
            ErrorPayload badOp = ErrorPayload.decode(raw.next().payload());
            assertEquals(ErrorCode.BAD_REQUEST, badOp.code());
            assertTrue(badOp.message().contains("UTF-8"), badOp.message());
            raw.send(new Frame(FrameType.REQUEST_EXT, 3, RequestPayload.encodeExtended("echo", 100, Metadata.EMPTY, new byte[] {'7'})));
            Frame ok = raw.next();
            assertEquals(FrameType.RESPONSE, ok.type());
            assertEquals("7", new String(ok.payload(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void interceptorsRunInOrderSeeMetadataAndMayRefuse() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        AtomicReference<String> currentInHandler = new AtomicReference<>();
        Connection c = connect(TidewireServer.builder()
                .interceptor((r, next) -> {
                    order.add("outer " + r.op());
                    if ("nobody".equals(r.metadata().get("tenant"))) {
                        throw new HandlerException(1001, "unknown tenant");
                    }
                    return next.handle(r).thenApply(reply -> {
                        order.add("outer done");
                        return reply;
                    });
                })
                .interceptor((r, next) -> {
                    order.add("inner " + r.metadata().get("tenant"));
                    return next.handle(r);
                })
                .blockingHandler("who", r -> {
                    currentInHandler.set(ServerRequest.current().map(ServerRequest::op).orElse("none"));
                    return r.toJson(r.metadata().get("tenant"));
                }));
        byte[] reply = c.call("who", new byte[0], Metadata.of("tenant", "acme"), Deadline.after(Duration.ofSeconds(2)), null)
                .get(5, TimeUnit.SECONDS);
        assertEquals("\"acme\"", new String(reply, StandardCharsets.UTF_8));
        assertEquals(List.of("outer who", "inner acme", "outer done"), order);
        assertEquals("who", currentInHandler.get());
        RemoteException refused = assertInstanceOf(RemoteException.class, CallOutcomesTest.failure(
                c.call("who", new byte[0], Metadata.of("tenant", "nobody"), Deadline.after(Duration.ofSeconds(2)), null)));
        assertEquals(1001, refused.code());
        assertNotNull(server);
        assertTrue(ServerRequest.current().isEmpty(), "no request is current outside handlers");
    }
}
