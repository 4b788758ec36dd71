package dev.tidewire.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.testing.RawClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How the reference server ends a connection, seen from a raw client: the linger after a fatal
 * error and after a graceful drain (FIN, then read and drop until the client closes or
 * {@link ServerConnection#LINGER_MILLIS} pass), and the idle timeout around a long call.
 * Timings are asserted with bounds wide enough for a loaded machine.
 */
@Timeout(60)
class ServerClosingTest {
    private static final byte[] PING = FrameEncoder.encode(Frame.of(FrameType.PING, 7));

    private TidewireServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Frame request(long id, String op, String json) {
        return new Frame(FrameType.REQUEST, id, RequestPayload.encode(op, json.getBytes(StandardCharsets.UTF_8)));
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /**
     * Writes a PING every 50 ms until the server has closed the connection (its open count drops to
     * 0) or a write fails, and returns the milliseconds from {@code startNanos} to that moment. A
     * write may fail only because the server has closed (closing with a PING still unread resets
     * the connection): a reset while it should still read and drop shows as an early time, which
     * the caller's lower bound rejects, or as a connection not closed within a second of it.
     */
    private long probeUntilClosed(RawClient c, long startNanos) {
        long[] resetAfter = {-1};
        long[] closedAfter = {-1};
        await().atMost(Duration.ofMillis(ServerConnection.LINGER_MILLIS + 4000)).pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    if (!c.trySendRaw(PING)) {
                        resetAfter[0] = millisSince(startNanos);
                        return true;
                    }
                    if (server.stats().connectionsOpen() == 0) {
                        closedAfter[0] = millisSince(startNanos);
                        return true;
                    }
                    return false;
                });
        if (resetAfter[0] >= 0) {
            // the reset must be the close's: the server counts the connection closed right after it
            await().atMost(Duration.ofSeconds(1)).until(() -> server.stats().connectionsOpen() == 0);
            return resetAfter[0];
        }
        // closed for real now: a write is answered with a reset, and the next one fails
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() -> !c.trySendRaw(PING));
        return closedAfter[0];
    }

    /**
     * A {@code sleep} in flight at a fatal error must not cut the linger short: the error cancels it
     * (it is never answered), and the server reads and drops until the linger time has passed,
     * well after the sleep would have ended. (Its timer fired into the lingering connection before.)
     */
    @Test
    void aFatalErrorLingersTheFullTimeThoughASleepWasInFlight() throws Exception {
        server = TidewireServer.builder().build().start();
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":300}"));
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
            long start = System.nanoTime();
            c.sendRaw("XXXXXXXXXXXXXXXX".getBytes(StandardCharsets.US_ASCII)); // bad magic: fatal
            Frame error = c.next();
            assertNotNull(error, "expected the ERROR before the FIN");
            assertEquals(FrameType.ERROR, error.type(), error.toString());
            assertEquals(0, error.requestId());
            assertEquals(ErrorCode.PROTOCOL_ERROR, ErrorPayload.decode(error.payload()).code());
            assertNull(c.next(), "FIN after the ERROR; the sleep is never answered");
            assertFalse(c.wasReset(), "an orderly end of stream, not a reset");

            long closedAfter = probeUntilClosed(c, start);
            assertTrue(closedAfter >= ServerConnection.LINGER_MILLIS - 400,
                    "closed " + closedAfter + " ms after the fatal error; the sleep ended after 300 ms");
            assertTrue(closedAfter <= ServerConnection.LINGER_MILLIS + 3000, "closed after " + closedAfter + " ms");
        }
    }

    /**
     * Section 11.1: after the drain's FIN the server cannot answer a PING; it reads and drops what
     * the client still sends, a late REQUEST and garbage included, without processing it and without
     * a reset, until the linger time has passed. (Frames after the FIN were still processed: the
     * late REQUEST counted as received, the garbage as a protocol error.)
     */
    @Test
    void afterTheDrainFinWhatTheClientSendsIsReadAndDroppedUntilTheLingerEnds() throws Exception {
        server = TidewireServer.builder().build().start();
        Thread shutdown = new Thread(() -> server.shutdown(Duration.ofSeconds(20)), "test-shutdown");
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":300}"));
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
            shutdown.start();
            Frame goAway = c.next();
            assertNotNull(goAway);
            assertEquals(FrameType.GOAWAY, goAway.type(), goAway.toString());
            assertEquals(1, goAway.requestId());
            Frame reply = c.next();
            assertNotNull(reply);
            assertEquals(FrameType.RESPONSE, reply.type(), reply.toString());
            assertEquals(1, reply.requestId());
            assertNull(c.next(), "FIN after the last reply");
            assertFalse(c.wasReset(), "an orderly end of stream, not a reset");
            long fin = System.nanoTime();

            c.send(Frame.of(FrameType.PING, 99));
            c.send(request(2, "echo", "{}"));
            c.sendRaw("XXXXXXXXXXXXXXXX".getBytes(StandardCharsets.US_ASCII));
            long closedAfter = probeUntilClosed(c, fin);
            assertTrue(closedAfter >= ServerConnection.LINGER_MILLIS - 400,
                    "closed " + closedAfter + " ms after the FIN, before the linger time");
            assertTrue(closedAfter <= ServerConnection.LINGER_MILLIS + 3000, "closed after " + closedAfter + " ms");
            assertEquals(1, server.stats().requests(), "the REQUEST after the FIN was dropped, not processed");
            assertEquals(0, server.stats().protocolErrors(), "the garbage after the FIN was dropped, not decoded");
        } finally {
            shutdown.join(25_000);
        }
    }

    /**
     * The drain can end in the middle of a read (here at a CANCEL of the last request); the frames
     * after it in that read are dropped like those of later reads. (They were still processed: the
     * REQUEST counted as received and refused.)
     */
    @Test
    void framesReadTogetherWithTheOneThatEndsTheDrainAreDroppedToo() throws Exception {
        server = TidewireServer.builder().build().start();
        Thread shutdown = new Thread(() -> server.shutdown(Duration.ofSeconds(20)), "test-shutdown");
        RawClient c = new RawClient(server.address()); // closed in the middle, to end the linger
        try {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":20000}"));
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
            shutdown.start();
            Frame goAway = c.next();
            assertNotNull(goAway);
            assertEquals(FrameType.GOAWAY, goAway.type(), goAway.toString());
            byte[] cancel = FrameEncoder.encode(Frame.of(FrameType.CANCEL, 1));
            byte[] late = FrameEncoder.encode(request(2, "echo", "{}"));
            byte[] both = java.util.Arrays.copyOf(cancel, cancel.length + late.length);
            System.arraycopy(late, 0, both, cancel.length, late.length);
            c.sendRaw(both); // one write: normally one read
            assertNull(c.next(), "FIN: no reply for the cancelled request, none for the late one");
            assertFalse(c.wasReset());
            c.close(); // the server closes on reading our FIN, so the read before it is done by then
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().connectionsOpen() == 0);
            assertEquals(1, server.stats().cancelled());
            assertEquals(1, server.stats().requests(), "the REQUEST after the CANCEL was dropped, not processed");
            assertEquals(0, server.stats().refusedNotProcessed());
        } finally {
            c.close();
            shutdown.join(25_000);
        }
    }

    /**
     * Section 5.5: a call longer than the idle timeout, from a client that sends nothing meanwhile,
     * is not followed by an idle close right after its reply; the timeout counts from the reply.
     * (It counted from the request's bytes, so the connection was closed within one check interval,
     * at most 250 ms, of the reply.)
     */
    @Test
    void aCallLongerThanTheIdleTimeoutIsNotFollowedByACloseRightAfterItsReply() throws Exception {
        long idle = 600;
        server = TidewireServer.builder().idleTimeout(Duration.ofMillis(idle)).build().start();
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "sleep", "{\"millis\":1500}"));
            Frame reply = c.next();
            long replied = System.nanoTime();
            assertNotNull(reply, "the connection was closed during the call");
            assertEquals(FrameType.RESPONSE, reply.type(), reply.toString());
            assertNull(c.next(), "closed once idle");
            long quietFor = millisSince(replied);
            assertTrue(quietFor >= idle - 150, "closed " + quietFor + " ms after the reply; the idle timeout is "
                    + idle + " ms");
            assertTrue(quietFor <= idle + 3000, "closed " + quietFor + " ms after the reply");
        }
    }

    /**
     * Section 12: requests in flight at a fatal error are cancelled, not left running through the
     * linger. (They were cancelled only when the socket closed, the linger time later.)
     */
    @Test
    void aFatalErrorCancelsTheRequestsInFlightAtOnce() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicLong interruptedAt = new AtomicLong();
        server = TidewireServer.builder().blockingHandler("wait", req -> {
            started.countDown();
            try {
                new CountDownLatch(1).await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interruptedAt.set(System.nanoTime());
                throw e;
            }
            return req.body();
        }).build().start();
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "wait", "{}"));
            assertTrue(started.await(5, TimeUnit.SECONDS));
            long start = System.nanoTime();
            c.send(request(1, "echo", "{}")); // a repeated id: fatal
            Frame error = c.next();
            assertNotNull(error);
            assertEquals(ErrorCode.PROTOCOL_ERROR, ErrorPayload.decode(error.payload()).code(), error.toString());
            await().atMost(Duration.ofSeconds(5)).until(() -> interruptedAt.get() != 0);
            long after = TimeUnit.NANOSECONDS.toMillis(interruptedAt.get() - start);
            assertTrue(after < ServerConnection.LINGER_MILLIS / 2, "the handler was interrupted " + after
                    + " ms after the fatal error; the linger is " + ServerConnection.LINGER_MILLIS + " ms");
            assertNull(c.next(), "no reply for request 1, then FIN");
            assertFalse(c.wasReset());
        }
    }
}
