package dev.tidewire.client.faults;

import static dev.tidewire.client.faults.FaultScenariosTest.assertNothingLeftAndClose;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.client.faults.FaultBench.Fault;
import dev.tidewire.pool.PoolOptions;
import dev.tidewire.transport.ConnectionOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Recovery after each fault class, as a user meets it: a client with DEFAULT options (only the
 * address and the request timeout set), 64 blocking callers making echo calls through a
 * {@link dev.tidewire.testing.FaultProxy} (the server kill goes direct), a fault held for a while,
 * then healed. The promise under test: the first successful call comes within
 * {@code connectBackoffMax + connectTimeout + 1 s} of the heal, computed from the defaults
 * (5 s + 5 s + 1 s = 11 s), whatever the request timeout (100 ms to 30 s). Along the way: no
 * reply reaches the wrong caller, no call "succeeds" with a changed payload, no call ends later
 * than its deadline + 200 ms, every error is a typed {@code TidewireException}, and once closed
 * the client leaves nothing behind.
 *
 * <p>Fault durations are shortened to keep the default run near 2 minutes on 2 cores: blackhole
 * 10 s (the report had 15 s; 10 s still outlasts the 5 s heartbeat timeout, so the client must
 * find its connections dead and connect again while the path is still dark), the other classes
 * 5 s. The default run covers 11 cases: every class with the README's 2 s timeout and default
 * options, plus 100 ms and 30 s spread over the classes; {@code -Dtidewire.recovery.full=true} runs every class with every timeout (18 cases,
 * blackhole 15 s; the {@code soak} profile sets it). {@code -Dtidewire.recovery.observeSeconds}
 * (default: the bound + 4 s) is how long to wait for the first success before giving up;
 * {@code -Dtidewire.recovery.only=blackhole} runs only the cases whose name contains that text.
 * Callers pause 10 ms after an error (a user's retry loop), so a fast-failing outage does not
 * spin the cores. Every case prints one line; the class prints a table at the end.
 */
class RecoveryTest {
    static final int CALLERS = 64;
    static final Duration GRACE = Duration.ofMillis(200);
    static final Duration BOUND = PoolOptions.DEFAULT_CONNECT_BACKOFF_MAX
            .plus(ConnectionOptions.DEFAULT_CONNECT_TIMEOUT).plusSeconds(1);
    static final Set<String> TYPED = Set.of("ConnectionLostException", "ConnectFailedException",
            "NotProcessedException", "RequestTimeoutException", "PoolExhaustedException", "ProtocolException");
    private static final long SEED = Long.getLong("tidewire.faults.seed", 20_261_125L);
    private static final List<String> RESULTS = new CopyOnWriteArrayList<>();

    record Case(Fault fault, Duration hold, Duration requestTimeout) {
        @Override
        public String toString() {
            return fault + " for " + hold.toSeconds() + " s, requestTimeout " + millis(requestTimeout);
        }
    }

    static Stream<Case> cases() {
        String only = System.getProperty("tidewire.recovery.only", "");
        return allCases().filter(c -> c.toString().contains(only));
    }

    private static Stream<Case> allCases() {
        Duration t100 = Duration.ofMillis(100);
        Duration t2 = Duration.ofSeconds(2);
        Duration t30 = Duration.ofSeconds(30);
        if (Boolean.getBoolean("tidewire.recovery.full")) {
            List<Case> all = new ArrayList<>();
            for (Fault f : List.of(Fault.BLACKHOLE, Fault.HALF_CLOSE, Fault.RST_STORM, Fault.CORRUPTION, Fault.DELAY,
                    Fault.KILL_RESTART)) {
                for (Duration t : List.of(t100, t2, t30)) {
                    all.add(new Case(f, Duration.ofSeconds(f == Fault.BLACKHOLE ? 15 : 5), t));
                }
            }
            return all.stream();
        }
        Duration five = Duration.ofSeconds(5);
        return Stream.of(
                new Case(Fault.BLACKHOLE, Duration.ofSeconds(10), t2),
                new Case(Fault.BLACKHOLE, Duration.ofSeconds(10), t100),
                new Case(Fault.HALF_CLOSE, five, t30),
                new Case(Fault.HALF_CLOSE, five, t2),
                new Case(Fault.RST_STORM, five, t100),
                new Case(Fault.RST_STORM, five, t2),
                new Case(Fault.CORRUPTION, five, t2),
                new Case(Fault.DELAY, five, t2),
                new Case(Fault.KILL_RESTART, five, t100),
                new Case(Fault.KILL_RESTART, five, t2),
                new Case(Fault.KILL_RESTART, five, t30));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void firstSuccessWithinTheBoundAfterTheFaultHeals(Case c) throws Exception {
        Duration observe = Duration.ofSeconds(Long.getLong("tidewire.recovery.observeSeconds", BOUND.toSeconds() + 4));
        FaultBench bench = new FaultBench(c.fault().needsProxy());
        TidewireClient client = null;
        LoadHarness load = null;
        try {
            client = TidewireClient.builder().address(bench.clientAddress()).requestTimeout(c.requestTimeout()).build();
            assertEquals(PoolOptions.DEFAULT_CONNECT_BACKOFF_MAX, client.options().pool().connectBackoffMax());
            assertEquals(ConnectionOptions.DEFAULT_CONNECT_TIMEOUT, client.options().connection().connectTimeout());
            load = new LoadHarness(client, CALLERS, c.requestTimeout(), GRACE, 0)
                    .pauseAfterError(Duration.ofMillis(10)).start();
            LoadHarness l = load;
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> l.ok() > 500);
            } catch (ConditionTimeoutException e) {
                RESULTS.add("| " + c.fault() + " | " + millis(c.requestTimeout()) + " | - | cold start: " + l.ok()
                        + " ok in 10 s before any fault | NO | | | | | | " + l.errors() + " |");
                fail("cold start, before any fault: only " + l.ok() + " calls ok in 10 s; " + l + "; " + l.examples());
            }

            long okBefore = load.ok();
            bench.inject(c.fault(), SEED);
            await().pollDelay(c.hold()).atMost(c.hold().plusSeconds(1)).until(() -> true); // the fault lasts this long
            long okDuringFault = load.ok() - okBefore;
            bench.heal(c.fault());
            long healed = load.markHeal();
            Long recoveredMs = null;
            try {
                await().atMost(observe).pollInterval(Duration.ofMillis(10)).until(() -> l.firstOkAfterHeal() != 0);
                recoveredMs = TimeUnit.NANOSECONDS.toMillis(load.firstOkAfterHeal() - healed);
            } catch (ConditionTimeoutException e) {
                // reported below, with everything else this case measured
            }
            long stopping = System.nanoTime();
            load.stop();
            long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopping);

            String recovered = recoveredMs == null ? "> " + observe.toMillis() + " ms (none)" : recoveredMs + " ms";
            String line = String.format("| %s | %s | %d s | %s | %s | %d | %d | %d | %d ms | %d | %s |",
                    c.fault(), millis(c.requestTimeout()), c.hold().toSeconds(), recovered,
                    recoveredMs != null && recoveredMs <= BOUND.toMillis() ? "yes" : "NO",
                    okDuringFault, load.misrouted(), load.corrupted(), load.worstOvershoot().toMillis(), load.late(),
                    load.errors());
            RESULTS.add(line);
            System.out.println("recovery: " + c + ": first success " + recovered + " after the heal (bound "
                    + BOUND.toMillis() + " ms); " + load + "; callers stopped in " + stopMs + " ms");
            if (bench.proxy() != null) {
                System.out.println("recovery: proxy accepted " + bench.proxy().accepted() + " connections, reset "
                        + bench.proxy().resets() + ", flipped " + bench.proxy().corruptedPayloads() + " payload bytes");
            }

            LoadHarness done = load;
            TidewireClient closing = client;
            Long recoveredAfter = recoveredMs;
            assertAll(c.toString(),
                    () -> assertNotNull(recoveredAfter, "no successful call within " + observe.toMillis()
                            + " ms of the heal (bound " + BOUND.toMillis() + " ms)"),
                    () -> assertTrue(recoveredAfter == null || recoveredAfter <= BOUND.toMillis(),
                            "first success " + recoveredAfter + " ms after the heal, bound " + BOUND.toMillis() + " ms"),
                    () -> assertEquals(0, done.misrouted(), "replies reached the wrong caller: " + done.examples().get("misrouted")),
                    () -> assertEquals(0, done.corrupted(), "calls succeeded with a changed payload: " + done.examples().get("corrupted")),
                    () -> assertEquals(0, done.late(), "calls ended later than deadline + " + GRACE.toMillis()
                            + " ms; worst overshoot " + done.worstOvershoot().toMillis() + " ms; e.g. " + done.examples().get("late")),
                    () -> assertTrue(TYPED.containsAll(done.errors().keySet()),
                            "unexpected outcomes " + done.errors() + ": " + done.examples()),
                    () -> {
                        assertNothingLeftAndClose(closing);
                        if (bench.proxy() != null) {
                            await().atMost(Duration.ofSeconds(10)).until(() -> bench.proxy().open() == 0);
                        }
                    });
        } finally {
            if (load != null) {
                load.close();
            }
            if (client != null) {
                client.shutdownNow();
            }
            bench.close();
        }
    }

    @AfterAll
    static void printTable() {
        System.out.println("recovery: seed " + SEED + ", bound " + BOUND.toMillis() + " ms, " + CALLERS
                + " callers, default options");
        System.out.println("| fault | requestTimeout | held | heal -> first success | within bound | ok during fault"
                + " | misrouted | corrupted ok | worst overshoot | late (> +200 ms) | errors |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        RESULTS.forEach(System.out::println);
    }

    static String millis(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
