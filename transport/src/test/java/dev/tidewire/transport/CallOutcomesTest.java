package dev.tidewire.transport;

import static dev.tidewire.transport.SeedScenarioTest.text;
import static dev.tidewire.transport.SeedScenarioTest.utf8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ClientClosedException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.RequestTooLargeException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each kind of outcome a call can end with, against the reference server. */
class CallOutcomesTest {
    private TidewireServer server;
    private Connection connection;

    private Connection connect(TidewireServer.Builder builder, ConnectionOptions options) {
        server = builder.build().start();
        connection = Connection.open(server.address(), options);
        return connection;
    }

    @AfterEach
    void stop() {
        if (connection != null) {
            connection.close();
        }
        if (server != null) {
            server.close();
        }
    }

    static TidewireException failure(CompletableFuture<byte[]> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(TidewireException.class, e.getCause());
    }

    @Test
    void remoteErrorCarriesCodeAndMessage() {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        RemoteException e = assertInstanceOf(RemoteException.class,
                failure(c.call("fail", utf8("{\"code\":1042,\"message\":\"no such user\"}"), Duration.ofSeconds(2))));
        assertEquals(1042, e.code());
        assertEquals("no such user", e.remoteMessage());
        assertEquals("fail", e.op());
        assertFalse(e.retryable());
        assertTrue(e.getMessage().contains("1042") && e.getMessage().contains("no such user"), e.getMessage());
    }

    @Test
    void unknownOpIsARemoteError() {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        RemoteException e = assertInstanceOf(RemoteException.class,
                failure(c.call("no-such-op", utf8("{}"), Duration.ofSeconds(2))));
        assertEquals(ErrorCode.UNKNOWN_OP, e.code());
    }

    @Test
    void handlersRegisteredByOpNameAnswer() throws Exception {
        Connection c = connect(TidewireServer.builder()
                .blockingHandler("upper", req -> req.toJson(req.json().path("val").asText().toUpperCase()))
                .handler("async-len", req -> CompletableFuture.supplyAsync(() -> utf8(String.valueOf(req.body().length)))),
                ConnectionOptions.defaults());
        assertEquals("\"PIXELPIG!\"", text(c.call("upper", utf8("{\"val\":\"pixelpig!\"}"), Duration.ofSeconds(2)).get()));
        assertEquals("2", text(c.call("async-len", utf8("{}"), Duration.ofSeconds(2)).get()));
    }

    @Test
    void requestOverTheServersLimitIsRefusedBeforeSending() {
        Connection c = connect(TidewireServer.builder().maxFrameSize(8 * 1024), ConnectionOptions.defaults());
        byte[] big = utf8("\"" + "x".repeat(9000) + "\"");
        RequestTooLargeException e = assertInstanceOf(RequestTooLargeException.class,
                failure(c.call("echo", big, Duration.ofSeconds(2))));
        assertEquals(8 * 1024, e.limit());
        assertFalse(e.retryable());
        assertEquals(0, server.stats().requests(), "nothing was sent");
    }

    @Test
    void cancellingTheFutureSendsCancelAndFreesTheCall() {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        CompletableFuture<byte[]> f = c.call("sleep", utf8("{\"millis\":10000}"), Duration.ofSeconds(20));
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
        assertTrue(f.cancel(true));
        assertThrows(CancellationException.class, f::join);
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().cancelled() == 1);
        assertEquals(0, ((MultiplexedConnection) c).pendingCount());
        assertEquals(0, c.inFlight());
    }

    @Test
    void callersBeyondTheServersInFlightLimitWaitAndTheLimitHolds() throws Exception {
        Connection c = connect(TidewireServer.builder().maxInFlightPerConnection(4), ConnectionOptions.defaults());
        assertEquals(4, c.maxInFlight(), "limit taken from the server's HELLO");
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            calls.add(c.call("sleep", utf8("{\"millis\":20,\"i\":" + i + "}"), Duration.ofSeconds(10)));
        }
        for (int i = 0; i < 32; i++) {
            assertEquals("{\"millis\":20,\"i\":" + i + "}", text(calls.get(i).get(10, TimeUnit.SECONDS)));
        }
        assertEquals(4, server.stats().maxObservedInFlight(), "never more than the limit in flight");
        assertEquals(0, server.stats().rejectedOverloaded());
    }

    @Test
    void aCallThatWaitsForASlotPastItsDeadlineFailsTypedAndRetryable() throws Exception {
        Connection c = connect(TidewireServer.builder().maxInFlightPerConnection(1), ConnectionOptions.defaults());
        CompletableFuture<byte[]> holder = c.call("sleep", utf8("{\"millis\":1000}"), Duration.ofSeconds(5));
        RequestTimeoutException e = assertInstanceOf(RequestTimeoutException.class,
                failure(c.call("echo", utf8("{}"), Duration.ofMillis(200))));
        assertFalse(e.sent());
        assertTrue(e.retryable(), "never sent, so safe to retry");
        assertTrue(e.getMessage().contains("in-flight slot"), e.getMessage());
        assertEquals("{\"millis\":1000}", text(holder.get(5, TimeUnit.SECONDS)));
        assertEquals(1, server.stats().requests(), "the waiting call was never sent");
    }

    @Test
    void aTimedOutCallsCancelReachesTheServerBeforeTheCallItsSlotAdmits() throws Exception {
        // server limit 1: the waiting call may only go out once the server has freed the slot
        Connection c = connect(TidewireServer.builder().maxInFlightPerConnection(1), ConnectionOptions.defaults());
        CompletableFuture<byte[]> slow = c.call("sleep", utf8("{\"millis\":5000}"), Duration.ofMillis(200));
        CompletableFuture<byte[]> waiting = c.call("echo", utf8("{\"next\":true}"), Duration.ofSeconds(3));
        assertInstanceOf(RequestTimeoutException.class, failure(slow));
        assertEquals("{\"next\":true}", text(waiting.get(3, TimeUnit.SECONDS)));
        assertEquals(0, server.stats().rejectedOverloaded());
        // the slot is freed by whichever comes first: the client's CANCEL or the server's copy of the deadline
        assertEquals(1, server.stats().cancelled() + server.stats().deadlineExceeded());
    }

    @Test
    void closingTheConnectionFailsEverythingPendingAndRefusesNewCalls() {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            calls.add(c.call("sleep", utf8("{\"millis\":10000}"), Duration.ofSeconds(20)));
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 10);
        c.close();
        for (CompletableFuture<byte[]> f : calls) {
            ClientClosedException e = assertInstanceOf(ClientClosedException.class, failure(f));
            assertTrue(e.getMessage().contains("may have been processed"), e.getMessage());
        }
        assertEquals(Connection.State.CLOSED, c.state());
        assertInstanceOf(ClientClosedException.class, failure(c.call("echo", utf8("{}"), Duration.ofSeconds(1))));
        assertEquals(0, ((MultiplexedConnection) c).pendingCount());
        c.close(); // idempotent
    }

    @Test
    void gracefulServerShutdownFinishesAcceptedCallsAndRefusesNewOnes() throws Exception {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        CompletableFuture<byte[]> accepted = c.call("sleep", utf8("{\"millis\":400}"), Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
        Thread shutdown = new Thread(() -> server.shutdown(Duration.ofSeconds(5)));
        shutdown.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> c.state() != Connection.State.OPEN);
        NotProcessedException refused = assertInstanceOf(NotProcessedException.class,
                failure(c.call("echo", utf8("{}"), Duration.ofSeconds(1))));
        assertTrue(refused.retryable());
        assertEquals("{\"millis\":400}", text(accepted.get(5, TimeUnit.SECONDS)), "accepted call finished");
        shutdown.join(10_000);
        await().atMost(Duration.ofSeconds(3)).until(() -> c.state() == Connection.State.CLOSED);
        assertEquals(0, server.stats().connectionsOpen());
    }

    @Test
    void clientShutdownLetsCallsFinishThenCloses() throws Exception {
        Connection c = connect(TidewireServer.builder(), ConnectionOptions.defaults());
        CompletableFuture<byte[]> running = c.call("sleep", utf8("{\"millis\":200}"), Duration.ofSeconds(5));
        CompletableFuture<Void> closed = c.shutdown();
        assertInstanceOf(NotProcessedException.class, failure(c.call("echo", utf8("{}"), Duration.ofSeconds(1))));
        assertEquals("{\"millis\":200}", text(running.get(5, TimeUnit.SECONDS)));
        closed.get(5, TimeUnit.SECONDS);
        assertEquals(Connection.State.CLOSED, c.state());
    }

    /**
     * An executor that rejects the completion: the outcome is delivered as a
     * RejectedExecutionException on Tidewire's callback pool, never run on the event loop.
     */
    @Test
    void aRejectingExecutorNeverMakesCallbacksRunOnTheEventLoop() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create();
             Connection c = Connection.open(server.address(), ConnectionOptions.defaults(), resources)) {
            java.util.concurrent.Executor rejecting = r -> {
                throw new java.util.concurrent.RejectedExecutionException("full");
            };
            CompletableFuture<byte[]> call = c.call("sleep", utf8("{\"millis\":100}"),
                    Deadline.after(Duration.ofSeconds(5)), rejecting);
            CompletableFuture<String> ranOn = call.handle((v, e) -> Thread.currentThread().getName());
            String thread = ranOn.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(thread.startsWith("tidewire-callback-"), "the callback ran on " + thread);
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> call.get(1, java.util.concurrent.TimeUnit.SECONDS));
            assertInstanceOf(java.util.concurrent.RejectedExecutionException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("op 'sleep'"), e.getCause().getMessage());
        } finally {
            server.close();
        }
    }
}
