package dev.tidewire.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.JsonLimits;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.testing.RawClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile input beyond the limits of {@link ServerLimitsTest} (frame size, in-flight, connection
 * count, HELLO and idle timeouts): JSON bombs and a client that dribbles its HELLO.
 */
class ServerHostileInputTest {
    private TidewireServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Frame request(long id, String op, byte[] body) {
        return new Frame(FrameType.REQUEST, id, RequestPayload.encode(op, body));
    }

    private static ErrorPayload error(Frame f) {
        assertEquals(FrameType.ERROR, f.type(), "expected ERROR, got " + f);
        return ErrorPayload.decode(f.payload());
    }

    @Test
    void deeplyNestedJsonIsABadRequestAndTheServerStaysHealthy() throws Exception {
        AtomicInteger parsed = new AtomicInteger();
        server = TidewireServer.builder()
                .handler("parse", req -> {
                    req.json();
                    parsed.incrementAndGet();
                    return java.util.concurrent.CompletableFuture.completedFuture(new byte[0]);
                })
                .build().start();
        byte[] bomb = "[".repeat(10_000).getBytes(StandardCharsets.UTF_8);
        byte[] deepButAllowed = ("[".repeat(JsonLimits.MAX_NESTING_DEPTH) + "]".repeat(JsonLimits.MAX_NESTING_DEPTH))
                .getBytes(StandardCharsets.UTF_8);
        byte[] longNumber = ("{\"millis\":" + "9".repeat(10_000) + "}").getBytes(StandardCharsets.UTF_8);
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "parse", bomb));
            ErrorPayload e1 = error(c.next());
            assertEquals(ErrorCode.BAD_REQUEST, e1.code());
            assertTrue(e1.message().contains("nesting depth"), e1.message());

            c.send(request(2, "sleep", bomb));   // a built-in op that parses
            assertEquals(ErrorCode.BAD_REQUEST, error(c.next()).code());

            c.send(request(3, "sleep", longNumber));
            ErrorPayload e3 = error(c.next());
            assertEquals(ErrorCode.BAD_REQUEST, e3.code());
            assertTrue(e3.message().length() < 2000, "the error does not quote the whole input");

            c.send(request(4, "parse", deepButAllowed));
            Frame ok = c.next();
            assertEquals(FrameType.RESPONSE, ok.type(), "nesting up to the limit is fine: " + ok);

            c.send(request(5, "echo", "still here".getBytes(StandardCharsets.UTF_8)));
            Frame echo = c.next();
            assertEquals(FrameType.RESPONSE, echo.type());
            assertArrayEquals("still here".getBytes(StandardCharsets.UTF_8), echo.payload());
        }
        assertEquals(1, parsed.get());
        assertEquals(0, server.stats().protocolErrors());
    }

    @Test
    void aClientDribblingItsHelloIsDroppedAtTheHelloTimeout() throws Exception {
        server = TidewireServer.builder().helloTimeout(Duration.ofMillis(500)).build().start();
        byte[] hello = FrameEncoder.encode(new Frame(FrameType.HELLO, 0,
                new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "dribbler", Map.of()).encode()));
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            s.setSoTimeout(5000);
            long start = System.nanoTime();
            Thread dribbler = new Thread(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int i = 0; i < hello.length - 1; i++) {   // never completes the frame
                        out.write(hello[i]);
                        out.flush();
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                    }
                } catch (IOException closed) {
                    // the server dropped us: expected
                }
            }, "test-dribbler");
            dribbler.setDaemon(true);
            dribbler.start();
            InputStream in = s.getInputStream();
            int read;
            try {
                read = in.read();
            } catch (IOException reset) {
                read = -1;
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(-1, read, "the server sends nothing, it closes");
            assertTrue(ms >= 450 && ms < 1200, "dropped after " + ms + " ms (helloTimeout 500 ms, a byte every 100 ms)");
            s.close();
            dribbler.join(5000);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().connectionsOpen() == 0);
    }
}
