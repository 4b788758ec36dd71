package dev.tidewire.pool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.Metadata;
import dev.tidewire.TidewireException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet discovered through a real DNS server ({@link Dnsmasq} on 127.0.0.1), with the default
 * fleet, pool and connection options and the README's 2 s timeout: records change while calls
 * flow; new endpoints take calls within a TTL, removed ones drain, no call fails; SRV weights hold.
 */
class DnsFleetTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @TempDir
    Path dir;
    private TransportResources resources;
    private Dnsmasq dns;
    private final List<TidewireServer> servers = new ArrayList<>();
    private final ExecutorService callers = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws Exception {
        resources = TransportResources.create();
        dns = Dnsmasq.start(dir, 1);
    }

    @AfterEach
    void stop() throws Exception {
        callers.shutdownNow();
        assertTrue(callers.awaitTermination(10, TimeUnit.SECONDS));
        servers.forEach(TidewireServer::close);
        dns.close();
        resources.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    private TidewireServer server(String ip, int port) throws Exception {
        TidewireServer s = TidewireServer.builder().bindAddress(InetAddress.getByName(ip)).port(port).build().start();
        servers.add(s);
        return s;
    }

    private Fleet fleet(DnsEndpointResolver resolver) {
        return Fleet.create(resolver, FleetOptions.defaults(), PoolOptions.defaults(), ConnectionOptions.defaults(),
                resources, PoolListener.NONE, FleetListener.NONE);
    }

    private static byte[] call(Fleet fleet, String text) throws Exception {
        byte[] body = ("\"" + text + "\"").getBytes(StandardCharsets.UTF_8);
        return fleet.call("echo", body, Metadata.EMPTY, Deadline.after(TIMEOUT), false, null, null)
                .get(TIMEOUT.toMillis() + 2000, TimeUnit.MILLISECONDS);
    }

    private static void sleepOp(Fleet fleet, int millis) throws Exception {
        byte[] body = ("{\"millis\":" + millis + "}").getBytes(StandardCharsets.UTF_8);
        fleet.call("sleep", body, Metadata.EMPTY, Deadline.after(TIMEOUT), false, null, null)
                .get(TIMEOUT.toMillis() + 2000, TimeUnit.MILLISECONDS);
    }

    /** Callers calling until stopped, counting successes and errors by type. */
    private final class Load implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong ok = new AtomicLong();
        final ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();
        final List<Future<?>> all = new ArrayList<>();

        Load(Fleet fleet, int n) {
            for (int c = 0; c < n; c++) {
                all.add(callers.submit(() -> {
                    for (int i = 0; i < 10_000_000 && !stop.get(); i++) {
                        try {
                            call(fleet, "c" + i);
                            ok.incrementAndGet();
                        } catch (java.util.concurrent.ExecutionException e) {
                            errors.computeIfAbsent(e.getCause().getClass().getSimpleName() + ": "
                                    + e.getCause().getMessage(), k -> new LongAdder()).increment();
                        }
                    }
                    return null;
                }));
            }
        }

        @Override
        public void close() throws Exception {
            stop.set(true);
            for (Future<?> f : all) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aRecordsChangeWhileCallsFlow() throws Exception {
        TidewireServer a = server("127.0.0.1", 0);
        int port = a.port();
        TidewireServer b = server("127.0.0.2", port);
        TidewireServer c = server("127.0.0.3", port);
        dns.setHosts(Map.of("api.fleet.test", List.of("127.0.0.1", "127.0.0.2")));
        try (Fleet fleet = fleet(DnsEndpointResolver.forName("api.fleet.test", port).nameServer(dns.nameServer())
                .build())) {
            Load load = new Load(fleet, 16);
            try (load) {
                await().atMost(Duration.ofSeconds(10)).until(() -> a.stats().requests() > 100 && b.stats().requests() > 100);
                assertEquals(0, c.stats().requests());
                // add .3 and remove .1: within about one TTL (1 s) .3 takes calls and .1 none
                long changed = System.nanoTime();
                dns.setHosts(Map.of("api.fleet.test", List.of("127.0.0.2", "127.0.0.3")));
                // the records' TTL is 1 s: the resolver asks again within it, then the new pool connects
                await().atMost(Duration.ofSeconds(3)).until(() -> c.stats().requests() > 0);
                System.out.println("new endpoint's first call " + (System.nanoTime() - changed) / 1_000_000
                        + " ms after the records changed (TTL 1 s)");
                await().atMost(Duration.ofSeconds(5)).until(() -> c.stats().requests() > 100);
                await().atMost(Duration.ofSeconds(5)).until(() -> fleet.endpoints().size() == 2);
                long aAfter = a.stats().requests();
                long cBefore = c.stats().requests();
                await().atMost(Duration.ofSeconds(10)).until(() -> c.stats().requests() > cBefore + 1000);
                assertEquals(aAfter, a.stats().requests(), "a removed endpoint takes no new calls");
                // its pool drained and closed: no connection of the client left on it
                await().atMost(Duration.ofSeconds(10)).until(() -> a.stats().connectionsOpen() == 0);
            }
            assertEquals(Map.of(), load.errors, "no call failed while the records changed");
            assertTrue(load.ok.get() > 1000);
        }
    }

    @Test
    void srvWeightsAreHonouredAndAChangeMovesTheShare() throws Exception {
        TidewireServer light = server("127.0.0.1", 0);
        TidewireServer heavy = server("127.0.0.1", 0);
        dns.setSrv("_tw._tcp.fleet.test", List.of(new Dnsmasq.Srv(0, 1, light.port(), "host1.fleet.test"),
                new Dnsmasq.Srv(0, 3, heavy.port(), "host1.fleet.test")));
        dns.setHosts(Map.of("host1.fleet.test", List.of("127.0.0.1")));
        try (Fleet fleet = fleet(DnsEndpointResolver.forSrv("_tw._tcp.fleet.test").nameServer(dns.nameServer())
                .build())) {
            // one caller, calls one after another: light load, where the weights decide
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.endpoints().size() == 2
                    && fleet.endpoints().stream().allMatch(EndpointStats::ready));
            // calls of 3 ms (the built-in sleep op): the servers' own time dominates, not the machine's
            // scheduling noise, so the two endpoints cost about the same and the weights decide
            for (int i = 0; i < 300; i++) {
                sleepOp(fleet, 3); // first calls are slow (JIT): their peaks fade within seconds
            }
            long heavyBefore = heavy.stats().requests();
            long lightBefore = light.stats().requests();
            for (int i = 0; i < 1500; i++) {
                sleepOp(fleet, 3);
            }
            long toHeavy = heavy.stats().requests() - heavyBefore;
            double heavyShare = (double) toHeavy / (toHeavy + light.stats().requests() - lightBefore);
            // 0.75 expected; without weights it would be 0.50 (± 0.013 over 1,500 calls), so 0.55
            // still tells them apart, with room for a loaded machine's latency noise (once, with
            // the 3 ms calls measured at 40 and 94 ms, the heavy endpoint took 0.58)
            assertTrue(heavyShare > 0.55 && heavyShare < 0.9, "weight 3 of 4 took " + heavyShare + "; " + fleet.endpoints());
            // records change while calls flow: the light one leaves, its calls drain, nothing fails
            Load load = new Load(fleet, 8);
            try (load) {
                await().atMost(Duration.ofSeconds(5)).until(() -> load.ok.get() > 500);
                dns.setSrv("_tw._tcp.fleet.test", List.of(new Dnsmasq.Srv(0, 3, heavy.port(), "host1.fleet.test")));
                await().atMost(Duration.ofSeconds(10)).until(() -> fleet.endpoints().size() == 1);
                long lightAfter = light.stats().requests();
                long okNow = load.ok.get();
                await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > okNow + 1000);
                assertEquals(lightAfter, light.stats().requests());
            }
            assertEquals(Map.of(), load.errors, "no call failed while the SRV records changed");
        } catch (TidewireException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aNameThatDoesNotResolveFailsCallsWithATypedErrorByTheirDeadline() throws Exception {
        try (Fleet fleet = fleet(DnsEndpointResolver.forName("nosuch.fleet.test", 7000).nameServer(dns.nameServer())
                .build())) {
            long start = System.nanoTime();
            java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> call(fleet, "x"));
            long took = System.nanoTime() - start;
            org.junit.jupiter.api.Assertions.assertInstanceOf(dev.tidewire.ConnectFailedException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("nosuch.fleet.test"), e.getCause().getMessage());
            assertTrue(took >= TIMEOUT.toNanos() - TimeUnit.MILLISECONDS.toNanos(50)
                    && took < TIMEOUT.toNanos() + TimeUnit.SECONDS.toNanos(1), "ended at its deadline: " + took / 1_000_000);
            assertEquals(0, fleet.endpoints().size());
        }
    }
}
