package dev.tidewire.pool;

import static dev.tidewire.pool.PoolTestSupport.FAST_CONNECT;
import static dev.tidewire.pool.PoolTestSupport.in;
import static dev.tidewire.pool.PoolTestSupport.text;
import static dev.tidewire.pool.PoolTestSupport.utf8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ConnectFailedException;
import dev.tidewire.PoolExhaustedException;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.pool.PoolTestSupport.CountingListener;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.ScriptedPeer;
import dev.tidewire.transport.TransportResources;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pool against a real loopback server: the multiplexing traps commons-pool2 users hit. */
class ConnectionPoolTest {
    private TransportResources resources;
    private TidewireServer server;
    private final List<ConnectionPool> pools = new ArrayList<>();

    @BeforeEach
    void start() {
        resources = TransportResources.create();
        server = TidewireServer.builder().build().start();
    }

    @AfterEach
    void stop() {
        pools.forEach(ConnectionPool::closeNow);
        server.close();
        resources.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    private ConnectionPool pool(PoolOptions options, PoolListener listener) {
        return pool(server.address(), options, listener);
    }

    private ConnectionPool pool(InetSocketAddress address, PoolOptions options, PoolListener listener) {
        ConnectionPool p = ConnectionPool.create(address, options, FAST_CONNECT, resources, listener);
        pools.add(p);
        return p;
    }

    private static byte[] call(ConnectionPool p, String op, String json, Duration timeout) throws Exception {
        return p.call(op, utf8(json), in(timeout), null).get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
    }

    @Test
    void prefillsToMinIdle() {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(4).minIdle(3).build(), events);
        // in the background, one connect at a time: create() never waits for the network
        await().atMost(Duration.ofSeconds(5)).until(() -> p.stats().open() == 3);
        assertEquals(3, p.stats().idle());
        assertEquals(3, p.stats().open());
        assertEquals(3, events.created.get());
        assertEquals(3, server.stats().connectionsOpen());
    }

    @Test
    void callsReachingAPoolWhoseEndpointLeftItsFleetGoElsewhere() throws Exception {
        ConnectionPool p = pool(PoolOptions.defaults(), PoolListener.NONE);
        assertEquals("{}", text(call(p, "echo", "{}", Duration.ofSeconds(2))));
        AtomicInteger redirected = new AtomicInteger();
        CompletableFuture<Void> drained = p.drain(Duration.ofSeconds(2), (op, body, metadata, deadline) -> {
            redirected.incrementAndGet();
            return CompletableFuture.completedFuture(utf8("\"elsewhere\""));
        });
        // a call that chose this pool just before its endpoint left: sent by the fleet instead
        assertEquals("\"elsewhere\"", text(call(p, "echo", "{}", Duration.ofSeconds(2))));
        assertEquals(1, redirected.get());
        // a fleet's single attempt: refused as not processed, so the fleet sends it to another endpoint
        ExecutionException e = assertThrows(ExecutionException.class, () -> p.attemptOnce("echo", utf8("{}"),
                dev.tidewire.Metadata.EMPTY, in(Duration.ofSeconds(2))).get(5, TimeUnit.SECONDS));
        assertInstanceOf(dev.tidewire.NotProcessedException.class, e.getCause());
        drained.get(10, TimeUnit.SECONDS);
        assertEquals(0, p.stats().open(), "drained and closed");
    }

    @Test
    void manyCallsShareFewConnections() throws Exception {
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2).build(), PoolListener.NONE);
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            calls.add(p.call("sleep", utf8("{\"millis\":100,\"i\":" + i + "}"), in(Duration.ofSeconds(5)), null));
        }
        for (int i = 0; i < 100; i++) {
            assertEquals("{\"millis\":100,\"i\":" + i + "}", text(calls.get(i).get(5, TimeUnit.SECONDS)));
        }
        assertTrue(server.stats().connectionsAccepted() <= 2, "100 concurrent calls over <= 2 connections");
        assertEquals(0, p.stats().inFlight());
        assertEquals(0, p.stats().active(), "every lease returned");
        // each connection went back to the pool with ~50 calls in flight: the max-idle rule destroyed none
        assertEquals(0, p.stats().destroyed());
    }

    @Test
    void aBusyConnectionIsNeitherEvictedNorProbedAndAnIdleOneIs() throws Exception {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(1)
                .idleTimeout(Duration.ofMillis(150)).evictionInterval(Duration.ofMillis(30)).build(), events);
        CompletableFuture<byte[]> longCall = p.call("sleep", utf8("{\"millis\":1200}"), in(Duration.ofSeconds(5)), null);
        await().atMost(Duration.ofSeconds(2)).until(() -> p.stats().inFlight() == 1);
        // in pool terms the connection is idle the whole time; the evictor runs ~30 times meanwhile
        await().during(Duration.ofMillis(900)).atMost(Duration.ofSeconds(2))
                .until(() -> events.destroyed(DestroyReason.IDLE) == 0 && p.stats().open() == 1);
        assertEquals("{\"millis\":1200}", text(longCall.get(5, TimeUnit.SECONDS)));
        assertEquals(1, server.stats().requests(), "no probe requests were sent on the busy connection");
        // now it is truly idle: evicted after the idle timeout
        await().atMost(Duration.ofSeconds(3)).until(() -> events.destroyed(DestroyReason.IDLE) == 1);
        await().atMost(Duration.ofSeconds(3)).until(() -> p.stats().open() == 0);
    }

    @Test
    void idleEvictionKeepsMinIdle() {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(4).minIdle(1)
                .idleTimeout(Duration.ofMillis(100)).evictionInterval(Duration.ofMillis(30)).build(), events);
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(p.call("sleep", utf8("{\"millis\":100}"), in(Duration.ofSeconds(5)), null));
        }
        calls.forEach(CompletableFuture::join);
        await().atMost(Duration.ofSeconds(3)).until(() -> p.stats().open() == 1 && p.stats().idle() == 1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> p.stats().idle() == 1);
    }

    @Test
    void maxLifetimeRetiresConnectionsWithoutFailingCalls() throws Exception {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2)
                .maxLifetime(Duration.ofMillis(300), 0.2).evictionInterval(Duration.ofMillis(40)).build(), events);
        ExecutorService callers = Executors.newFixedThreadPool(8);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            results.add(callers.submit(() -> {
                int n = 0;
                while (System.nanoTime() < end && n < 100_000) {
                    String body = "{\"millis\":" + (n % 40) + ",\"n\":" + n + "}";
                    assertEquals(body, text(call(p, "sleep", body, Duration.ofSeconds(3))));
                    n++;
                }
                return n;
            }));
        }
        int total = 0;
        for (Future<Integer> f : results) {
            total += f.get(30, TimeUnit.SECONDS);
        }
        callers.shutdownNow();
        assertTrue(total > 100, "calls made: " + total);
        assertTrue(events.destroyed(DestroyReason.LIFETIME) >= 2,
                "retired for lifetime: " + events.destroyed(DestroyReason.LIFETIME));
        assertTrue(events.created.get() >= 3, "replacements opened: " + events.created.get());
    }

    /**
     * Once the pool holds maxConnections connections, calls share them without a lease. A shared
     * connection past its lifetime sends the calls that pick it to the borrow path, whose
     * validation retires it (the evictor is too slow here to do it); a replacement opens in the
     * background, and no call fails on the way.
     */
    @Test
    void aFullPoolSharesItsConnectionsAndRetiresExpiredOnesAtOnce() throws Exception {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2).minIdle(2)
                .maxLifetime(Duration.ofMillis(300), 0).evictionInterval(Duration.ofMinutes(10)).build(), events);
        await().atMost(Duration.ofSeconds(5)).until(() -> p.stats().open() == 2);
        int calls = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
        while (System.nanoTime() < end && calls < 100_000) {
            String body = "{\"n\":" + calls + "}";
            assertEquals(body, text(call(p, "echo", body, Duration.ofSeconds(3))));
            calls++;
        }
        assertTrue(events.destroyed(DestroyReason.LIFETIME) >= 2,
                "retired for lifetime: " + events.destroyed(DestroyReason.LIFETIME));
        await().atMost(Duration.ofSeconds(3)).until(() -> p.stats().open() == 2 && events.created.get() >= 4);
        // between a retirement and its replacement (a few ms) calls borrow; otherwise they share
        assertTrue(events.borrows.get() < calls / 3, events.borrows.get() + " borrows for " + calls + " calls");
        assertEquals(0, p.stats().active());
    }

    /**
     * A connection used only through the shared path is never borrowed, so commons-pool2 alone
     * would think it idle; the eviction policy also asks when a call last picked it.
     */
    @Test
    void aConnectionInSteadyUseThroughTheSharedPathIsNotEvictedAsIdle() throws Exception {
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(1)
                .idleTimeout(Duration.ofMillis(150)).evictionInterval(Duration.ofMillis(30)).build(), events);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(900);
        int calls = 0;
        while (System.nanoTime() < end && calls < 100_000) {
            assertEquals("{}", text(call(p, "echo", "{}", Duration.ofSeconds(3))));
            calls++;
        }
        assertEquals(0, events.destroyed(DestroyReason.IDLE), "evicted while in use");
        assertEquals(1, events.created.get());
        assertTrue(events.borrows.get() <= 2, events.borrows.get() + " borrows for " + calls + " calls");
        // unused from now on: evicted after the idle timeout
        await().atMost(Duration.ofSeconds(3)).until(() -> events.destroyed(DestroyReason.IDLE) == 1);
    }

    /**
     * The reconnect livelock: the server takes 400 ms to answer HELLO and every caller allows
     * 100 ms. A connect bounded by the deadline of the call that triggered it never lasts long
     * enough, each failure grows the backoff, and no call ever succeeds. A connect that belongs to
     * the pool gets its full connect timeout: one attempt, and calls succeed once it is done.
     */
    @Test
    void aConnectGetsItsFullTimeoutWhateverTheDeadlineOfTheCallThatStartedIt() throws Exception {
        try (ScriptedPeer slow = new ScriptedPeer()) {
            CountingListener events = new CountingListener();
            ConnectionPool p = pool(slow.address(), PoolOptions.defaults(), events);
            CompletableFuture<Void> peer = CompletableFuture.runAsync(() -> {
                try {
                    TimeUnit.MILLISECONDS.sleep(400); // the slow server's pace, not a wait for a condition
                    slow.acceptAndHello(100);
                    for (int i = 0; i < 10_000; i++) {
                        var request = slow.nextFrame(dev.tidewire.protocol.FrameType.REQUEST);
                        slow.send(new dev.tidewire.protocol.Frame(dev.tidewire.protocol.FrameType.RESPONSE,
                                request.requestId(), utf8("{\"ok\":true}")));
                    }
                } catch (Exception e) {
                    // the pool closed the connection at the end of the test
                }
            });
            long start = System.nanoTime();
            long firstSuccess = -1;
            long failedBeforeSuccess = -1;
            int failed = 0;
            for (int i = 0; i < 500 && firstSuccess < 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4); i++) {
                try {
                    p.call("echo", utf8("{}"), in(Duration.ofMillis(100)), null).get(2, TimeUnit.SECONDS);
                    firstSuccess = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    failedBeforeSuccess = events.connectFailed.get();
                } catch (ExecutionException e) {
                    // waiting for the connect; or, once connected, a reply slower than 100 ms (the
                    // scripted peer is one thread doing blocking I/O)
                    assertTrue(e.getCause() instanceof ConnectFailedException
                            || e.getCause() instanceof dev.tidewire.RequestTimeoutException, e.getCause().toString());
                    failed++;
                }
            }
            assertTrue(firstSuccess >= 0, "no call succeeded in 4 s (" + failed + " failed)");
            assertTrue(firstSuccess < 1500, "first success after " + firstSuccess + " ms; HELLO came after 400 ms");
            // no attempt was cut short before the first success: the one under way got its full
            // connect timeout. (Counting attempts instead made this flaky: the pool may start a
            // second connect, to grow, before the first success; it made the count 2 twice in CI.)
            assertTrue(p.connectAttempts() >= 1);
            assertEquals(0, failedBeforeSuccess, "no connect attempt failed before the first success");
            p.closeNow();
            peer.get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Calls that waited for a connect with a long timeout (10 min) leave nothing behind once they
     * complete: no timer keeps them, or their bodies, until their deadlines.
     */
    @Test
    void callsThatWaitedForAConnectAreNotKeptUntilTheirDeadlines() throws Exception {
        try (ScriptedPeer slow = new ScriptedPeer()) {
            ConnectionPool p = pool(slow.address(), PoolOptions.builder().maxConnections(1).build(), PoolListener.NONE);
            List<java.lang.ref.WeakReference<byte[]>> bodies = new ArrayList<>();
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                byte[] body = new byte[10_000];
                java.util.Arrays.fill(body, (byte) ' ');
                body[0] = '{';
                body[1] = '}';
                bodies.add(new java.lang.ref.WeakReference<>(body));
                calls.add(p.call("echo", body, in(Duration.ofMinutes(10)), null));
            }
            slow.acceptAndHello(100);
            for (int i = 0; i < 50; i++) {
                var request = slow.nextFrame(dev.tidewire.protocol.FrameType.REQUEST);
                slow.send(new dev.tidewire.protocol.Frame(dev.tidewire.protocol.FrameType.RESPONSE, request.requestId(),
                        utf8("{}")));
            }
            for (CompletableFuture<byte[]> c : calls) {
                assertEquals("{}", text(c.get(5, TimeUnit.SECONDS)));
            }
            calls.clear();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
                System.gc();
                return bodies.stream().allMatch(r -> r.get() == null);
            });
        }
    }

    /**
     * closeNow() while a connect is under way: the attempt is abandoned, and a handshake that
     * completes afterwards does not leave a connection open behind a closed pool.
     */
    @Test
    void closingThePoolDuringAConnectLeavesNoConnectionBehind() throws Exception {
        try (ScriptedPeer slow = new ScriptedPeer()) {
            ConnectionPool p = pool(slow.address(), PoolOptions.defaults(), PoolListener.NONE);
            CompletableFuture<byte[]> call = p.call("echo", utf8("{}"), in(Duration.ofSeconds(5)), null);
            await().atMost(Duration.ofSeconds(2)).until(() -> p.connectAttempts() == 1);
            p.closeNow();
            assertInstanceOf(dev.tidewire.ClientClosedException.class,
                    assertThrows(ExecutionException.class, () -> call.get(2, TimeUnit.SECONDS)).getCause());
            try {
                slow.acceptAndHello(100); // the server answers only now
            } catch (java.io.IOException alreadyClosed) {
                // the abandoned attempt closed its socket before HELLO could be read: also fine
            }
            await().atMost(Duration.ofSeconds(3)).until(slow::clientClosed);
            assertEquals(0, p.stats().open());
            assertEquals(1, p.connectAttempts(), "no attempt after close");
        }
    }

    /**
     * A connect belongs to the pool, not to the call that started it: callers waiting for it hold
     * no thread and no permit, each gives up at its own deadline with a typed error saying so, and
     * there is one attempt at a time however many callers wait.
     */
    @Test
    void callsWaitingForASlowConnectEndAtTheirDeadlinesWhileOneAttemptGoesOn() throws Exception {
        try (ScriptedPeer silent = new ScriptedPeer()) { // accepts, never answers HELLO: the connect is slow
            ConnectionPool p = pool(silent.address(), PoolOptions.builder().maxConnections(1).build(), PoolListener.NONE);
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                calls.add(p.call("echo", utf8("{}"), in(Duration.ofMillis(200)), null));
            }
            long returnedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(returnedAfter < 150, "call() waited " + returnedAfter + " ms for the connect");
            for (CompletableFuture<byte[]> c : calls) {
                ConnectFailedException e = assertInstanceOf(ConnectFailedException.class,
                        assertThrows(ExecutionException.class, () -> c.get(5, TimeUnit.SECONDS)).getCause());
                assertTrue(e.getMessage().contains("within the call's deadline (200 ms)")
                        && e.getMessage().contains("goes on in the background"), e.getMessage());
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 190 && ms < 1500, "gave up after " + ms + " ms");
            assertEquals(1, p.connectAttempts(), "one attempt at a time, whatever the number of callers");
            assertEquals(0, p.stats().waiting());
        }
    }

    @Test
    void aConnectNeverOutlastsTheCallsDeadline() throws Exception {
        try (ScriptedPeer silent = new ScriptedPeer()) { // accepts TCP, never answers HELLO
            ConnectionPool p = ConnectionPool.create(silent.address(), PoolOptions.defaults(),
                    dev.tidewire.transport.ConnectionOptions.builder().connectTimeout(Duration.ofSeconds(10)).build(),
                    resources, PoolListener.NONE);
            pools.add(p);
            long start = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> p.call("echo", utf8("{}"), in(Duration.ofMillis(300)), null).get(5, TimeUnit.SECONDS));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(ConnectFailedException.class, e.getCause());
            assertTrue(ms >= 250 && ms < 600, "failed after " + ms + " ms; call timeout 300 ms, connect timeout 10 s");
        }
    }

    @Test
    void closingEndsACallThatWaitsForARetry() throws Exception {
        InetSocketAddress nobody;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nobody = new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
        ConnectionPool p = pool(nobody, PoolOptions.builder().connectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(5))
                .build(), PoolListener.NONE);
        CompletableFuture<byte[]> call = p.call("echo", utf8("{}"), in(Duration.ofSeconds(30)), null);
        await().atMost(Duration.ofSeconds(2)).until(() -> p.connectAttempts() == 1); // now waiting ~1-2 s to retry
        p.closeNow();
        ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(2, TimeUnit.SECONDS));
        assertInstanceOf(dev.tidewire.ClientClosedException.class, e.getCause());
    }

    @Test
    void withTheServerDownAttemptsAreBoundedAndEveryCallerGetsATypedErrorByItsDeadline() throws Exception {
        InetSocketAddress nobody;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nobody = new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
        CountingListener events = new CountingListener();
        ConnectionPool p = pool(nobody, PoolOptions.builder().maxConnections(8).build(), events);
        ExecutorService callers = Executors.newFixedThreadPool(64);
        AtomicLong late = new AtomicLong();
        AtomicInteger errors = new AtomicInteger();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        List<Future<?>> all = new ArrayList<>();
        for (int t = 0; t < 64; t++) {
            all.add(callers.submit(() -> {
                for (int i = 0; i < 10_000 && System.nanoTime() < end; i++) {
                    long start = System.nanoTime();
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> p.call("echo", utf8("{}"), in(Duration.ofMillis(100)), null).get(5, TimeUnit.SECONDS));
                    TidewireException cause = assertInstanceOf(TidewireException.class, e.getCause());
                    assertTrue(cause instanceof ConnectFailedException || cause instanceof PoolExhaustedException,
                            cause.toString());
                    assertTrue(cause.retryable());
                    errors.incrementAndGet();
                    if (System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(100 + 200)) {
                        late.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get(30, TimeUnit.SECONDS);
        }
        callers.shutdownNow();
        assertEquals(0, late.get(), "every caller got its error by its deadline (+200 ms)");
        assertTrue(errors.get() > 64, "errors: " + errors.get());
        // one attempt at a time, 100 ms doubling (with jitter): 0, ~0.1, ~0.3, ~0.7, ~1.5 s; never one per caller
        assertTrue(p.connectAttempts() <= 8, "connect attempts in 2 s: " + p.connectAttempts()
                + " (callers made " + errors.get() + " calls)");
    }

    @Test
    void afterTheServerRestartsOnTheSamePortThePoolRecovers() throws Exception {
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2)
                .connectBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build(), PoolListener.NONE);
        int port = server.port();
        assertEquals("{\"a\":1}", text(call(p, "echo", "{\"a\":1}", Duration.ofSeconds(2))));
        server.close();
        // during the outage: typed errors, by the deadline
        for (int i = 0; i < 5; i++) {
            long start = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> call(p, "echo", "{}", Duration.ofMillis(300)));
            assertInstanceOf(TidewireException.class, e.getCause());
            assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(800));
        }
        server = TidewireServer.builder().port(port).build().start();
        await().atMost(Duration.ofSeconds(5)).ignoreExceptions()
                .until(() -> text(call(p, "echo", "{\"b\":2}", Duration.ofSeconds(1))).equals("{\"b\":2}"));
        for (int i = 0; i < 20; i++) {
            assertEquals("{\"c\":" + i + "}", text(call(p, "echo", "{\"c\":" + i + "}", Duration.ofSeconds(2))));
        }
    }

    @Test
    void callsTheServerDidNotProcessAreRetriedOnAnotherConnection() throws Exception {
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2)
                .connectBackoff(Duration.ofMillis(10), Duration.ofMillis(50)).build(), PoolListener.NONE);
        int port = server.port();
        ExecutorService callers = Executors.newFixedThreadPool(16);
        AtomicInteger ok = new AtomicInteger();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
        List<Future<?>> all = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            int caller = t;
            all.add(callers.submit(() -> {
                for (int i = 0; i < 100_000 && System.nanoTime() < end; i++) {
                    String body = "{\"millis\":" + (i % 20) + ",\"caller\":" + caller + ",\"i\":" + i + "}";
                    assertEquals(body, text(call(p, "sleep", body, Duration.ofSeconds(5))));
                    ok.incrementAndGet();
                }
                return null;
            }));
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> ok.get() > 200);
        TidewireServer old = server;
        Thread shutdown = new Thread(() -> old.shutdown(Duration.ofSeconds(5)));
        shutdown.start();
        // a new server takes the port as soon as the old one lets go of it (a rolling restart)
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).ignoreExceptions()
                .until(() -> (server = TidewireServer.builder().port(port).build().start()) != null);
        for (Future<?> f : all) {
            f.get(30, TimeUnit.SECONDS); // any failed call would have thrown here
        }
        callers.shutdownNow();
        shutdown.join(10_000);
        assertTrue(server.stats().requests() > 0, "the new server took over");
        assertTrue(old.stats().refusedNotProcessed() + server.stats().requests() > 0);
    }

    @Test
    void closeDrainsCallsInFlightThenReleasesEverything() throws Exception {
        ConnectionPool p = pool(PoolOptions.builder().maxConnections(2).build(), PoolListener.NONE);
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            calls.add(p.call("sleep", utf8("{\"millis\":200}"), in(Duration.ofSeconds(5)), null));
        }
        await().atMost(Duration.ofSeconds(3)).until(() -> p.stats().inFlight() == 10);
        p.close(Duration.ofSeconds(5));
        for (CompletableFuture<byte[]> c : calls) {
            assertEquals("{\"millis\":200}", text(c.get(1, TimeUnit.SECONDS)));
        }
        assertEquals(0, p.stats().open());
        assertInstanceOf(dev.tidewire.ClientClosedException.class, assertThrows(ExecutionException.class,
                () -> p.call("echo", utf8("{}"), in(Duration.ofSeconds(1)), null).get()).getCause());
    }

    /**
     * A server that answers every request NOT_PROCESSED: the pool resends with a growing, jittered
     * pause, at most {@code MAX_NOT_PROCESSED} times in all, then fails the call with that error
     * (it used to resend at once, up to 32 times).
     */
    @Test
    void aServerThatKeepsRefusingSeesTheCallAFewTimesWithPausesBetween() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            ConnectionPool p = pool(peer.address(), PoolOptions.builder().maxConnections(1).build(), PoolListener.NONE);
            ExecutorService peerThread = Executors.newSingleThreadExecutor();
            try {
                List<Long> arrivals = new java.util.concurrent.CopyOnWriteArrayList<>();
                Future<?> refusing = peerThread.submit(() -> {
                    peer.acceptAndHello(100);
                    for (int i = 0; i < 50; i++) {
                        dev.tidewire.protocol.Frame request = peer.nextFrame(dev.tidewire.protocol.FrameType.REQUEST);
                        arrivals.add(System.nanoTime());
                        peer.send(new dev.tidewire.protocol.Frame(dev.tidewire.protocol.FrameType.ERROR, request.requestId(),
                                new dev.tidewire.protocol.ErrorPayload(dev.tidewire.protocol.ErrorCode.NOT_PROCESSED,
                                        "refusing").encode()));
                    }
                    return null;
                });
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> p.call("echo", utf8("{}"), in(Duration.ofSeconds(2)), null).get(5, TimeUnit.SECONDS));
                assertInstanceOf(dev.tidewire.NotProcessedException.class, e.getCause());
                assertEquals(ConnectionPool.MAX_NOT_PROCESSED, arrivals.size(), "times the server saw the call");
                for (int i = 1; i < arrivals.size(); i++) {
                    long gapNanos = arrivals.get(i) - arrivals.get(i - 1);
                    long least = ConnectionPool.notProcessedDelayNanosAtLeast(i);
                    assertTrue(gapNanos >= least, "resend " + i + " came " + gapNanos + " ns after the refusal, "
                            + "before its pause of at least " + least + " ns");
                }
                refusing.cancel(true);
            } finally {
                peerThread.shutdownNow();
                p.closeNow();
            }
        }
    }

    /**
     * The retry budget: 100 calls at once to a server that refuses everything NOT_PROCESSED. Each
     * call alone could be sent up to {@code MAX_NOT_PROCESSED} times (400 sends); the client-wide
     * budget (20 % of calls plus 10 per second, 10 to start with) lets far fewer resends through,
     * and a call refused a resend says why.
     */
    @Test
    void theRetryBudgetBoundsResendsWhenTheServerRefusesEverything() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            ConnectionPool p = pool(peer.address(), PoolOptions.builder().maxConnections(1).build(), PoolListener.NONE);
            ExecutorService peerThread = Executors.newSingleThreadExecutor();
            AtomicInteger arrivals = new AtomicInteger();
            try {
                peerThread.submit(() -> {
                    peer.acceptAndHello(1000);
                    for (int i = 0; i < 2000; i++) {
                        dev.tidewire.protocol.Frame request = peer.nextFrame(dev.tidewire.protocol.FrameType.REQUEST);
                        arrivals.incrementAndGet();
                        peer.send(new dev.tidewire.protocol.Frame(dev.tidewire.protocol.FrameType.ERROR, request.requestId(),
                                new dev.tidewire.protocol.ErrorPayload(dev.tidewire.protocol.ErrorCode.NOT_PROCESSED,
                                        "refusing").encode()));
                    }
                    return null;
                });
                long start = System.nanoTime();
                List<CompletableFuture<byte[]>> calls = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    // a deadline long enough for the scripted peer's thread to start and answer HELLO on a
                    // loaded machine (a 3 s one ran out before it did, once on JDK 25 in CI)
                    calls.add(p.call("echo", utf8("{}"), in(Duration.ofSeconds(10)), null));
                }
                int refusedByBudget = 0;
                for (CompletableFuture<byte[]> c : calls) {
                    Throwable e = assertThrows(ExecutionException.class, () -> c.get(20, TimeUnit.SECONDS)).getCause();
                    assertInstanceOf(dev.tidewire.NotProcessedException.class, e);
                    for (Throwable s : e.getSuppressed()) {
                        if (s instanceof dev.tidewire.pool.internal.RetryBudget.Exhausted) {
                            refusedByBudget++;
                        }
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                long allowed = 100 + 10 + 20 + (long) Math.ceil(10 * seconds) + 1;
                System.out.println("refusing server: " + arrivals.get() + " sends for 100 calls in "
                        + Math.round(seconds * 1000) + " ms; " + refusedByBudget + " resends refused by the budget");
                assertTrue(arrivals.get() <= allowed, arrivals.get() + " sends, budget allows " + allowed);
                assertTrue(refusedByBudget > 0 && p.retriesRefusedByBudget() == refusedByBudget,
                        refusedByBudget + " vs " + p.retriesRefusedByBudget());
            } finally {
                peerThread.shutdownNow();
                p.closeNow();
            }
        }
    }

    /**
     * A connection the server stops serving while it still answers PINGs (so the heartbeat is
     * content): its calls time out while the other connection's succeed. The pool stops lending it
     * (reason UNRESPONSIVE), opens a replacement, and calls succeed again; before, half of the
     * calls kept going to it until its lifetime ended (30 min).
     */
    @Test
    void aConnectionWhoseCallsTimeOutWhileOthersSucceedIsNoLongerLent() throws Exception {
        try (OneDeafConnectionServer server = new OneDeafConnectionServer()) {
            CountingListener events = new CountingListener();
            ConnectionPool p = pool(server.address(), PoolOptions.builder().maxConnections(2).minIdle(2).build(), events);
            await().atMost(Duration.ofSeconds(5)).until(() -> p.stats().open() == 2);
            int ok = 0;
            int timedOut = 0;
            long retiredAt = -1;
            long start = System.nanoTime();
            for (int i = 0; i < 100_000 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(8); i++) {
                try {
                    p.call("echo", utf8("{}"), in(Duration.ofMillis(100)), null).get(2, TimeUnit.SECONDS);
                    ok++;
                } catch (ExecutionException e) {
                    assertInstanceOf(dev.tidewire.RequestTimeoutException.class, e.getCause());
                    timedOut++;
                }
                if (retiredAt < 0 && events.destroyed(DestroyReason.UNRESPONSIVE) == 1) {
                    retiredAt = System.nanoTime();
                }
                if (retiredAt > 0 && System.nanoTime() - retiredAt > TimeUnit.MILLISECONDS.toNanos(500)) {
                    break;
                }
            }
            System.out.println("one deaf connection: " + ok + " ok, " + timedOut + " timed out; retired after "
                    + (retiredAt < 0 ? "never" : TimeUnit.NANOSECONDS.toMillis(retiredAt - start) + " ms"));
            assertEquals(1, events.destroyed(DestroyReason.UNRESPONSIVE), "the deaf connection was retired");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(retiredAt - start) < 4000, "retired late");
            // after it: every call succeeds (on the healthy connection and the replacement)
            for (int i = 0; i < 50; i++) {
                assertEquals("{}", text(call(p, "echo", "{}", Duration.ofSeconds(1))));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.accepted() == 3);
        }
    }

    /**
     * A server whose first connection answers HELLO and PING but never a REQUEST; every later
     * connection echoes. One thread per connection (a test peer, not a Tidewire component).
     */
    private static final class OneDeafConnectionServer implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final List<java.net.Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final ExecutorService threads = Executors.newCachedThreadPool();

        OneDeafConnectionServer() throws java.io.IOException {
            threads.execute(() -> {
                for (int n = 0; n < 100 && !listener.isClosed(); n++) {
                    try {
                        java.net.Socket s = listener.accept();
                        sockets.add(s);
                        boolean deaf = n == 0;
                        threads.execute(() -> serve(s, deaf));
                    } catch (java.io.IOException closed) {
                        return;
                    }
                }
            });
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        }

        int accepted() {
            return sockets.size();
        }

        private static void serve(java.net.Socket s, boolean deaf) {
            var decoder = new dev.tidewire.protocol.FrameDecoder(dev.tidewire.protocol.Protocol.DEFAULT_MAX_FRAME_SIZE);
            var frames = new java.util.ArrayDeque<dev.tidewire.protocol.Frame>();
            byte[] buf = new byte[8192];
            try (s) {
                var in = s.getInputStream();
                var out = s.getOutputStream();
                for (int reads = 0; reads < 10_000_000; reads++) {
                    int n = in.read(buf);
                    if (n < 0) {
                        return;
                    }
                    decoder.decode(java.nio.ByteBuffer.wrap(buf, 0, n), frames::add);
                    for (var f = frames.poll(); f != null; f = frames.poll()) {
                        var reply = switch (f.type()) {
                            case HELLO -> new dev.tidewire.protocol.Frame(dev.tidewire.protocol.FrameType.HELLO, 0,
                                    new dev.tidewire.protocol.Hello(dev.tidewire.protocol.Protocol.VERSION,
                                            dev.tidewire.protocol.Protocol.DEFAULT_MAX_FRAME_SIZE, 100, "deaf-test",
                                            java.util.Map.of()).encode());
                            case PING -> dev.tidewire.protocol.Frame.of(dev.tidewire.protocol.FrameType.PONG, f.requestId());
                            case REQUEST -> deaf ? null : new dev.tidewire.protocol.Frame(
                                    dev.tidewire.protocol.FrameType.RESPONSE, f.requestId(),
                                    dev.tidewire.protocol.RequestPayload.decode(f.payload()).body());
                            default -> null;
                        };
                        if (reply != null) {
                            out.write(dev.tidewire.protocol.FrameEncoder.encode(reply));
                            out.flush();
                        }
                    }
                }
            } catch (java.io.IOException | RuntimeException closed) {
                // the client closed the connection
            }
        }

        @Override
        public void close() throws java.io.IOException {
            listener.close();
            for (java.net.Socket s : sockets) {
                s.close();
            }
            threads.shutdownNow();
        }
    }
}
