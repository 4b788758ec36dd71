package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.RemoteException;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.Endpoint;
import dev.tidewire.pool.EndpointResolver;
import dev.tidewire.pool.EndpointStats;
import dev.tidewire.pool.FleetOptions;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.server.HandlerException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client with a target of several real reference servers on loopback, with its default options
 * and the README's 2 s timeout: load follows load, a dead endpoint is ejected, a rolling restart
 * costs no call, and the retry budget caps retries when every endpoint refuses.
 */
class FleetTest {
    /** The README's example timeout. */
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final List<TidewireServer> servers = new ArrayList<>();
    private final ScheduledExecutorService delays = Executors.newScheduledThreadPool(2);
    private final ExecutorService callers = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws Exception {
        callers.shutdownNow();
        assertTrue(callers.awaitTermination(10, TimeUnit.SECONDS));
        delays.shutdownNow();
        servers.forEach(TidewireServer::close);
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    /** A reference server on 127.0.0.1 (port 0: any free port) whose op "work" answers after {@code millis}. */
    private TidewireServer server(int port, long millis) {
        TidewireServer s = TidewireServer.builder().port(port)
                .handler("work", request -> {
                    CompletableFuture<byte[]> reply = new CompletableFuture<>();
                    delays.schedule(() -> reply.complete(request.body()), millis, TimeUnit.MILLISECONDS);
                    return reply;
                })
                .build().start();
        servers.add(s);
        return s;
    }

    private static String target(List<TidewireServer> servers) {
        return servers.stream().map(s -> "127.0.0.1:" + s.port()).collect(Collectors.joining(","));
    }

    private static byte[] json(String s) {
        return ("\"" + s + "\"").getBytes(StandardCharsets.UTF_8);
    }

    /** Callers calling op "work" until closed, counting successes and errors (by type and message). */
    private final class Callers implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong ok = new AtomicLong();
        final ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();
        private final List<Future<?>> all = new ArrayList<>();

        Callers(TidewireClient client, int n) {
            for (int c = 0; c < n; c++) {
                all.add(callers.submit(() -> {
                    for (int i = 0; i < 1_000_000 && !stop.get(); i++) {
                        try {
                            client.callRaw("work", json("c" + i));
                            ok.incrementAndGet();
                        } catch (TidewireException e) {
                            errors.computeIfAbsent(e.getClass().getSimpleName() + ": " + e.getMessage(),
                                    k -> new LongAdder()).increment();
                        }
                    }
                    return null;
                }));
            }
        }

        long failed() {
            return errors.values().stream().mapToLong(LongAdder::sum).sum();
        }

        /** Stops the callers and waits for them (each ends its call by its deadline). */
        @Override
        public void close() throws Exception {
            stop.set(true);
            for (Future<?> f : all) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void callsGoByLoadNotByCount() throws Exception {
        TidewireServer fast1 = server(0, 2);
        TidewireServer fast2 = server(0, 2);
        TidewireServer slow = server(0, 20); // 10x slower
        try (TidewireClient client = TidewireClient.builder().target(target(servers)).requestTimeout(TIMEOUT).build()) {
            List<Future<?>> all = new ArrayList<>();
            for (int c = 0; c < 16; c++) {
                int caller = c;
                all.add(callers.submit(() -> {
                    for (int i = 0; i < 150; i++) {
                        byte[] body = json(caller + "-" + i);
                        assertEquals(new String(body, StandardCharsets.UTF_8),
                                new String(client.callRaw("work", body), StandardCharsets.UTF_8));
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(60, TimeUnit.SECONDS);
            }
            long total = fast1.stats().requests() + fast2.stats().requests() + slow.stats().requests();
            assertEquals(16 * 150, total, "every call answered once");
            double slowShare = (double) slow.stats().requests() / total;
            // counting would give it a third; by load it gets about 1/10 of a fast one's share
            assertTrue(slowShare < 0.15, "the 10x slower endpoint took " + Math.round(slowShare * 100)
                    + " % of the calls: " + fast1.stats().requests() + "/" + fast2.stats().requests() + "/"
                    + slow.stats().requests());
            assertEquals(3, client.endpoints().size());
        }
    }

    @Test
    void aKilledEndpointIsEjectedAndOnlyItsCallsInFlightFail() throws Exception {
        server(0, 1);
        server(0, 1);
        TidewireServer victim = server(0, 1);
        int callersCount = 16;
        try (TidewireClient client = TidewireClient.builder().target(target(servers)).requestTimeout(TIMEOUT).build()) {
            Callers load = new Callers(client, callersCount);
            try (load) {
                await().atMost(Duration.ofSeconds(10)).until(() -> victim.stats().requests() > 200);
                victim.close(); // abrupt: calls in flight on it are lost
                await().atMost(Duration.ofSeconds(20)).until(() -> endpoint(client, victim.port()).ejected());
                long okAtEjection = load.ok.get();
                await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > okAtEjection + 2000);
            }
            // only calls in flight on the victim at the kill may fail: at most one per caller
            assertTrue(load.failed() <= callersCount, "failed " + load.failed() + " (" + load.errors + ")");
            load.errors.keySet().forEach(k -> assertTrue(k.startsWith(ConnectionLostException.class.getSimpleName()),
                    "only lost connections: " + load.errors));
        }
    }

    private static EndpointStats endpoint(TidewireClient client, int port) {
        return client.endpoints().stream().filter(e -> e.endpoint().address().getPort() == port).findFirst()
                .orElseThrow();
    }

    @Test
    void aRollingRestartOfEveryServerFailsNoCall() throws Exception {
        for (int i = 0; i < 3; i++) {
            server(0, 1);
        }
        List<Integer> ports = servers.stream().map(TidewireServer::port).toList();
        try (TidewireClient client = TidewireClient.builder().target(target(servers)).requestTimeout(TIMEOUT).build()) {
            Callers load = new Callers(client, 64);
            try (load) {
                await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > 2000);
                for (int i = 0; i < 3; i++) {
                    TidewireServer old = servers.get(i);
                    int port = ports.get(i);
                    old.shutdown(Duration.ofSeconds(5)); // GOAWAY, calls in flight finish, later ones NOT_PROCESSED
                    TidewireServer next = await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
                            .ignoreExceptions().until(() -> server(port, 1), s -> s != null);
                    servers.set(i, next);
                    servers.remove(servers.size() - 1); // server() appended it too
                    long before = next.stats().requests();
                    // the new server takes calls again before the next one goes down
                    await().atMost(Duration.ofSeconds(15)).until(() -> next.stats().requests() > before + 100);
                }
            }
            assertEquals(Map.of(), load.errors, "no call failed during the rolling restart");
            assertTrue(load.ok.get() > 3000);
        }
    }

    @Test
    void theRetryBudgetCapsRetriesWhenEveryEndpointRefuses() throws Exception {
        AtomicInteger seen = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            servers.add(TidewireServer.builder().handler("work", request -> {
                seen.incrementAndGet();
                throw new HandlerException(ErrorCode.NOT_PROCESSED, "refusing everything");
            }).build().start());
        }
        int calls = 500;
        try (TidewireClient client = TidewireClient.builder().target(target(servers)).requestTimeout(TIMEOUT).build()) {
            int failed = 0;
            for (int i = 0; i < calls; i++) {
                TidewireException e = assertThrows(TidewireException.class, () -> client.callRaw("work", json("b")));
                assertTrue(e instanceof NotProcessedException
                        || e instanceof RemoteException r && r.code() == ErrorCode.NOT_PROCESSED, e.toString());
                failed++;
            }
            assertEquals(calls, failed);
            long retries = seen.get() - calls;
            // 20 % of the calls plus 10 per second, plus the first second's 10: far below 4 per call
            assertTrue(retries <= 0.2 * calls + 10 * 30 + 10, "retries " + retries);
            assertTrue(retries > 0, "retries are made while the budget allows");
            assertTrue(client.endpoints().stream().noneMatch(EndpointStats::ejected), "refusals eject nothing");
        }
    }

    @Test
    void aHedgedIdempotentCallIsAnsweredByTheFastEndpoint() throws Exception {
        server(0, 5);
        server(0, 1500);
        try (TidewireClient client = TidewireClient.builder().target(target(servers)).requestTimeout(TIMEOUT).build()) {
            CallOptions hedged = CallOptions.hedgeAfter(Duration.ofMillis(50));
            for (int i = 0; i < 20; i++) {
                long start = System.nanoTime();
                assertEquals("\"h" + i + "\"", new String(client.callRaw("work", json("h" + i), hedged),
                        StandardCharsets.UTF_8));
                // the slow endpoint answers after 1.5 s; a hedge goes to the other one after 50 ms
                assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(1200), "call " + i);
            }
        }
    }

    @Test
    void hedgingNeedsAnIdempotentCall() {
        assertThrows(IllegalStateException.class, () -> CallOptions.DEFAULT.withHedgeAfter(Duration.ofMillis(5)));
        assertThrows(IllegalArgumentException.class, () -> CallOptions.hedgeAfter(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> TidewireClient.builder().target("127.0.0.1:1,nope"));
        assertThrows(IllegalArgumentException.class, () -> FleetOptions.builder().maxEjectedShare(1.5).build());
        assertThrows(IllegalArgumentException.class, () -> TidewireClient.builder().target("dns:///").build());
    }

    @Test
    void anEndpointThatCannotBeReachedTakesNoCallsAndCostsNone() throws Exception {
        server(0, 1);
        int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort(); // closed again: connects are refused
        }
        try (TidewireClient client = TidewireClient.builder().target(target(servers) + ",127.0.0.1:" + deadPort)
                .requestTimeout(TIMEOUT).build()) {
            for (int i = 0; i < 300; i++) {
                assertInstanceOf(byte[].class, client.callRaw("work", json("d" + i)));
            }
            await().atMost(Duration.ofSeconds(15)).until(() -> endpoint(client, deadPort).ejected());
        }
    }

    /** Two endpoints, the first preferred (priority 0), whose op "work" takes the call and then dies. */
    private TidewireClient preferringADyingServer(AtomicInteger reached) {
        TidewireServer[] dying = new TidewireServer[1];
        dying[0] = TidewireServer.builder().handler("work", request -> {
            reached.incrementAndGet();
            delays.execute(dying[0]::close); // abrupt: the call in flight is lost
            return new CompletableFuture<>();
        }).build().start();
        servers.add(dying[0]);
        TidewireServer healthy = server(0, 1);
        EndpointResolver resolver = EndpointResolver.of(List.of(new Endpoint(dying[0].address(), 0, 1),
                new Endpoint(healthy.address(), 1, 1)));
        return TidewireClient.builder().target(resolver).requestTimeout(TIMEOUT).build();
    }

    @Test
    void anIdempotentCallWhoseConnectionBreaksIsSentToAnotherEndpoint() throws Exception {
        AtomicInteger reached = new AtomicInteger();
        try (TidewireClient client = preferringADyingServer(reached)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> client.endpoints().stream().allMatch(EndpointStats::ready));
            byte[] reply = client.callRaw("work", json("once"), CallOptions.idempotent(true));
            assertEquals("\"once\"", new String(reply, StandardCharsets.UTF_8));
            assertEquals(1, reached.get(), "the first endpoint took it and died");
        }
    }

    @Test
    void aCallNotMarkedIdempotentWhoseConnectionBreaksFailsAsLost() throws Exception {
        AtomicInteger reached = new AtomicInteger();
        try (TidewireClient client = preferringADyingServer(reached)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> client.endpoints().stream().allMatch(EndpointStats::ready));
            long start = System.nanoTime();
            assertThrows(ConnectionLostException.class, () -> client.callRaw("work", json("once")));
            assertTrue(System.nanoTime() - start < TIMEOUT.toNanos(), "it fails when the connection breaks");
            assertEquals(1, reached.get());
        }
    }

    @Test
    void replacingEveryEndpointWhileCallsFlowFailsNoCall() throws Exception {
        TidewireServer a = server(0, 1);
        TidewireServer b = server(0, 1);
        java.util.concurrent.atomic.AtomicReference<EndpointResolver.Listener> updates =
                new java.util.concurrent.atomic.AtomicReference<>();
        EndpointResolver resolver = new EndpointResolver() {
            @Override
            public void start(Listener listener) {
                updates.set(listener);
                listener.onEndpoints(List.of(Endpoint.of(a.address())));
            }

            @Override
            public void close() {
            }
        };
        try (TidewireClient client = TidewireClient.builder().target(resolver).requestTimeout(TIMEOUT).build()) {
            Callers load = new Callers(client, 32);
            try (load) {
                // one endpoint (the direct path) replaced by another, then two, then the first alone, in turn
                List<List<TidewireServer>> sets = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    sets.addAll(List.of(List.of(b), List.of(a, b), List.of(a), List.of(b), List.of(a)));
                }
                for (List<TidewireServer> set : sets) {
                    long before = load.ok.get();
                    await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > before + 300);
                    updates.get().onEndpoints(set.stream().map(s -> Endpoint.of(s.address())).toList());
                }
                long last = load.ok.get();
                await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > last + 2000);
            }
            assertEquals(Map.of(), load.errors, "no call failed while the endpoints changed");
            // b left the fleet last: its pool drained and closed
            await().atMost(Duration.ofSeconds(10)).until(() -> b.stats().connectionsOpen() == 0);
        }
    }
}
