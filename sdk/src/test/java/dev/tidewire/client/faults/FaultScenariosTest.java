package dev.tidewire.client.faults;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.pool.PoolStats;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import dev.tidewire.testing.Leaks;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The real client and server under load while faults are injected: every call ends by its
 * deadline (plus a grace) with its own reply or a typed error of an expected kind; nothing is
 * left behind; and once the fault clears the same client serves calls again.
 */
class FaultScenariosTest {
    static final int CALLERS = 64;
    static final Duration GRACE = Duration.ofMillis(500);
    static final Set<String> CONNECTION_FAULTS = Set.of("ConnectionLostException", "ConnectFailedException",
            "NotProcessedException", "RequestTimeoutException", "PoolExhaustedException");

    private TidewireServer server;
    private FaultProxy proxy;
    private TidewireClient client;

    @AfterEach
    void cleanUp() {
        if (client != null) {
            client.shutdownNow();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private TidewireClient.Builder clientTo(java.net.InetSocketAddress address) {
        return TidewireClient.builder().address(address).maxConnections(8)
                .connectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1));
    }

    static void assertSound(LoadHarness load, Set<String> allowed) {
        System.out.println(load);
        assertEquals(0, load.misrouted(), "replies reached the wrong caller: " + load.examples());
        assertEquals(0, load.late(), "calls ended later than deadline + grace; longest " + load.longest().toMillis() + " ms; " + load.examples());
        for (String type : load.errors().keySet()) {
            assertTrue(allowed.contains(type), "unexpected outcome " + type + ": " + load.examples().get(type)
                    + " (all: " + load.errors() + ")");
        }
    }

    static void assertRecovers(LoadHarness load) {
        long mark = load.ok();
        await().atMost(Duration.ofSeconds(20)).until(() -> load.ok() > mark + 500);
    }

    static void assertNothingLeftAndClose(TidewireClient client) {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            PoolStats s = client.poolStats();
            assertEquals(0, client.inFlight(), "calls in flight");
            assertEquals(0, s.active(), "leases not returned");
            assertEquals(0, s.inFlight(), "in-flight entries on connections");
            assertEquals(0, s.waiting(), "callers waiting");
        });
        client.close();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(java.util.List.of(), Leaks.clientThreads()));
    }

    @Test
    void serverKilledMidLoadAndRestartedTwoSecondsLater() throws Exception {
        server = TidewireServer.builder().build().start();
        int port = server.port();
        client = clientTo(server.address()).build();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(1), GRACE, 5).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            server.close();
            long killed = load.ok();
            await().atMost(Duration.ofSeconds(3)).until(() -> load.totalErrors() > 0);
            await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true); // the outage lasts 2 s
            assertTrue(load.ok() - killed < 100, "calls succeeded with no server: " + (load.ok() - killed));
            server = TidewireServer.builder().port(port).build().start();
            assertRecovers(load);
            load.stop();
            assertSound(load, CONNECTION_FAULTS);
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void blackholeIsDetectedByTheHeartbeat() throws Exception {
        server = TidewireServer.builder().build().start();
        proxy = new FaultProxy(server.address());
        client = clientTo(proxy.address()).build(); // default heartbeat: PING after 2 s, dead after 5 s
        Duration heartbeatTimeout = client.options().connection().heartbeatTimeout();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(8), GRACE, 5).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            long start = System.nanoTime();
            proxy.blackhole();
            await().atMost(Duration.ofSeconds(12)).until(() -> load.firstSeen("ConnectionLostException") != null);
            long detectedMs = TimeUnit.NANOSECONDS.toMillis(load.firstSeen("ConnectionLostException") - start);
            System.out.println("silent peer detected after " + detectedMs + " ms");
            assertTrue(detectedMs <= heartbeatTimeout.plusMillis(1000).toMillis(),
                    "detected after " + detectedMs + " ms, heartbeat timeout " + heartbeatTimeout.toMillis() + " ms");
            assertTrue(load.examples().get("ConnectionLostException").contains("may have been processed"));
            await().pollDelay(Duration.ofSeconds(10).minusNanos(System.nanoTime() - start))
                    .atMost(Duration.ofSeconds(11)).until(() -> true); // the blackhole lasts 10 s
            proxy.pass();
            assertRecovers(load);
            load.stop();
            assertSound(load, CONNECTION_FAULTS);
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void slowRepliesTimeOutOnTimeAreCountedLateAndTheConnectionsStay() throws Exception {
        server = TidewireServer.builder().build().start();
        proxy = new FaultProxy(server.address());
        client = clientTo(proxy.address()).maxConnections(4).minIdle(4).build();
        // minIdle connections open in the background: let them, before the 150 ms calls begin
        await().atMost(Duration.ofSeconds(5)).until(() -> client.poolStats().open() == 4);
        proxy.latency(Duration.ofMillis(60)); // 120 ms round trip plus a 0..80 ms server delay vs a 150 ms timeout
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofMillis(150), Duration.ofMillis(250), 80).start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.errors("RequestTimeoutException") > 200 && load.ok() > 200);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.poolStats().lateResponses() > 0);
            load.stop();
            assertSound(load, Set.of("RequestTimeoutException"));
            assertEquals(4, proxy.accepted(), "a timeout alone never replaces a healthy connection");
            assertEquals(0, client.poolStats().destroyed());
            System.out.println("late responses: " + client.poolStats().lateResponses());
            proxy.pass();
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void corruptBytesFromTheServerReplaceOnlyThatConnection() throws Exception {
        server = TidewireServer.builder().build().start();
        proxy = new FaultProxy(server.address());
        client = clientTo(proxy.address()).maxConnections(4).minIdle(4).build();
        await().atMost(Duration.ofSeconds(5)).until(() -> client.poolStats().open() == 4); // connection 2 exists
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(2), GRACE, 5).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            proxy.corruptServerBytesOfConnection(2);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.corrupted() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> load.errors("ProtocolException") > 0);
            proxy.pass();
            assertRecovers(load);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.accepted() == 5 && client.poolStats().open() == 4);
            load.stop();
            assertSound(load, Set.of("ProtocolException"));
            assertTrue(load.errors("ProtocolException") <= CALLERS / 2,
                    "only calls on the corrupted connection fail: " + load.errors());
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void corruptedReplyPayloadsNeverSucceedAndReplaceOnlyThatConnection() throws Exception {
        // bits flipped inside payloads, framing intact: only the negotiated CRC32C (on by default
        // without TLS) can tell; no corrupted reply may reach a caller as a success
        server = TidewireServer.builder().build().start();
        proxy = new FaultProxy(server.address());
        client = clientTo(proxy.address()).maxConnections(4).minIdle(4).build();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(2), GRACE, 0).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            proxy.corruptServerPayloadsOfConnection(2);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.corrupted() >= 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> load.errors("ConnectionLostException") > 0
                    || load.misrouted() > 0 || load.errors("ResponseDecodingException") > 0);
            assertEquals(0, load.misrouted(), "corrupted replies delivered as successes: " + load);
            assertRecovers(load);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.accepted() == 5 && client.poolStats().open() == 4);
            load.stop();
            assertSound(load, Set.of("ConnectionLostException"));
            assertTrue(load.examples().get("ConnectionLostException").contains("checksum mismatch"),
                    load.examples().toString());
        }
        proxy.pass();
        assertNothingLeftAndClose(client);
    }

    @Test
    void rollingRestartWithGoAwayLosesNoCall() throws Exception {
        server = TidewireServer.builder().build().start();
        int port = server.port();
        client = clientTo(server.address()).build();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(5), GRACE, 20).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            TidewireServer old = server;
            Thread drain = new Thread(() -> old.shutdown(Duration.ofSeconds(5)), "test-drain");
            drain.start();
            long start = System.nanoTime();
            await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5)).ignoreExceptions()
                    .until(() -> (server = TidewireServer.builder().port(port).build().start()) != null);
            System.out.println("new server listening after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
            assertRecovers(load);
            drain.join(10_000);
            load.stop();
            assertSound(load, Set.of());
            assertEquals(0, load.totalErrors(), "unprocessed calls were retried, processed ones completed");
            assertTrue(server.stats().requests() > 500);
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void theServersInFlightLimitIsNeverExceeded() throws Exception {
        server = TidewireServer.builder().maxInFlightPerConnection(4).build().start();
        client = clientTo(server.address()).maxConnections(2).build();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(2), GRACE, 20).start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.ok() > 1_000);
            load.stop();
            assertSound(load, Set.of("RequestTimeoutException"));
            assertTrue(server.stats().maxObservedInFlight() <= 4, "server saw " + server.stats().maxObservedInFlight());
            assertEquals(0, server.stats().rejectedOverloaded(), "callers waited instead of overrunning the server");
        }
        assertNothingLeftAndClose(client);
    }

    @Test
    void closingTheClientMidLoad() throws Exception {
        server = TidewireServer.builder().build().start();
        client = clientTo(server.address()).closeGracePeriod(Duration.ofSeconds(2)).build();
        // callers pause 10 ms after an error, as an application would: 64 threads spinning on
        // refused calls would only starve the 2 cores that must run the calls still in flight
        LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(1), GRACE, 50)
                .pauseAfterError(Duration.ofMillis(10)).start();
        await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 1_000);
        long start = System.nanoTime();
        client.close();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "close waited for the grace period at most");
        await().atMost(Duration.ofSeconds(3)).until(() -> load.errors("ClientClosedException") > 0);
        load.stop();
        assertSound(load, Set.of("ClientClosedException"));
        assertEquals(0, client.inFlight());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(java.util.List.of(), Leaks.clientThreads()));
    }

    @Test
    void resetStormEveryTwoHundredMillisForFiveSeconds() throws Exception {
        server = TidewireServer.builder().build().start();
        proxy = new FaultProxy(server.address());
        client = clientTo(proxy.address()).build();
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(1), GRACE, 5).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> load.ok() > 2_000);
            int resets = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < end && resets < 25) {
                proxy.resetAll();
                resets++;
                await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> true);
            }
            int accepted = proxy.accepted();
            assertRecovers(load);
            load.stop();
            assertSound(load, CONNECTION_FAULTS);
            System.out.println(resets + " resets, " + accepted + " connections accepted");
            // each reset drops at most 8 connections; reconnects are paced by the backoff, not by the 64 callers
            assertTrue(accepted <= 10 * (resets + 2), "connections opened: " + accepted + " for " + resets + " resets");
        }
        assertNothingLeftAndClose(client);
    }
}
