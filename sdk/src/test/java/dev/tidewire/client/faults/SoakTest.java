package dev.tidewire.client.faults;

import static dev.tidewire.client.faults.FaultScenariosTest.assertNothingLeftAndClose;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.client.faults.FaultBench.Fault;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Mixed faults, one after another, for {@code tidewire.soak.seconds} (30 s in the default test
 * run; the {@code soak} Maven profile runs 600 s, {@code -Dsoak.seconds=1800} for 30 minutes).
 * The client runs with DEFAULT options (requestTimeout 2 s as in the README), 64 callers, each
 * call with its own timeout drawn from 200 ms .. 2 s, half of them {@code sleep} 0..10 ms.
 *
 * <p>Each round injects one fault through a {@link dev.tidewire.testing.FaultProxy} (in turn:
 * blackhole, held half-close, RST storm, payload corruption, 2.5 s delay, server kill and
 * restart, 30 ms latency, a corrupted frame header, one-byte writes, a 256 KiB/s cap, one reset
 * of every connection), holds it, heals it, measures the time from the heal to the first
 * successful call, and lets the load run clean for a second.
 *
 * <p>Asserted over the whole run: 0 replies to the wrong caller, 0 successes with a changed
 * payload, 0 calls ending later than their deadline + 200 ms, only expected typed errors, the
 * first success after every heal within {@code connectBackoffMax + connectTimeout + 1 s} (11 s
 * with the defaults), heap after GC grown by less than 32 MiB, nothing left behind. A summary
 * table (per fault class: count, worst recovery, worst overshoot) is printed for
 * docs/failure-semantics.md.
 */
class SoakTest {
    private static final int CALLERS = 64;
    private static final Duration GRACE = Duration.ofMillis(200);
    private static final long HEAP_GROWTH_LIMIT = 32L * 1024 * 1024;

    /** How long each fault is held before it heals. */
    private static Duration hold(Fault f) {
        return switch (f) {
            case BLACKHOLE -> Duration.ofSeconds(7); // outlasts the 5 s heartbeat timeout
            case HALF_CLOSE, RST_STORM, CORRUPTION, KILL_RESTART -> Duration.ofSeconds(3);
            case DELAY -> Duration.ofSeconds(4);
            default -> Duration.ofMillis(1500);
        };
    }

    private static final class PerFault {
        int count;
        int overBound;
        long worstRecoveryMs = -1; // -1: none measured
        long worstOvershootMs = Long.MIN_VALUE;
        final List<Long> recoveries = new ArrayList<>();
    }

    @Test
    void mixedFaultsForTheSoakDuration() throws Exception {
        long seconds = Long.getLong("tidewire.soak.seconds", 30);
        long seed = Long.getLong("tidewire.faults.seed", 20_261_125L);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        List<Fault> faults = List.of(Fault.BLACKHOLE, Fault.HALF_CLOSE, Fault.RST_STORM, Fault.CORRUPTION,
                Fault.DELAY, Fault.KILL_RESTART, Fault.LATENCY, Fault.HEADER_CORRUPTION, Fault.ONE_BYTE_WRITES,
                Fault.BANDWIDTH, Fault.RESET_ONCE);
        Map<Fault, PerFault> table = new EnumMap<>(Fault.class);
        List<String> misses = new ArrayList<>();
        FaultBench bench = new FaultBench(true);
        TidewireClient client = null;
        LoadHarness load = null;
        try {
            client = TidewireClient.builder().address(bench.clientAddress()).requestTimeout(Duration.ofSeconds(2)).build();
            Duration bound = client.options().pool().connectBackoffMax()
                    .plus(client.options().connection().connectTimeout()).plusSeconds(1);
            Duration observe = bound.plusSeconds(10);
            load = new LoadHarness(client, CALLERS, Duration.ofMillis(200), Duration.ofSeconds(2), GRACE, 10)
                    .pauseAfterError(Duration.ofMillis(10)).start();
            LoadHarness l = load;
            await().atMost(Duration.ofSeconds(10)).until(() -> l.ok() > 1_000);
            long heapBefore = heapAfterGc(memory);
            long started = System.nanoTime();
            long end = started + TimeUnit.SECONDS.toNanos(seconds);
            int round = 0;
            while (System.nanoTime() < end && round < 100_000) {
                Fault fault = faults.get(round % faults.size());
                load.resetWindow();
                bench.inject(fault, seed + round);
                round++;
                await().pollDelay(hold(fault)).atMost(hold(fault).plusSeconds(1)).until(() -> true); // the fault lasts this long
                bench.heal(fault);
                long healed = load.markHeal();
                Long recoveredMs = null;
                try {
                    await().atMost(observe).pollInterval(Duration.ofMillis(10)).until(() -> l.firstOkAfterHeal() != 0);
                    recoveredMs = TimeUnit.NANOSECONDS.toMillis(l.firstOkAfterHeal() - healed);
                } catch (ConditionTimeoutException e) {
                    // counted below
                }
                await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> true); // a clean second
                PerFault row = table.computeIfAbsent(fault, f -> new PerFault());
                row.count++;
                row.worstOvershootMs = Math.max(row.worstOvershootMs, load.resetWindow().toMillis());
                if (recoveredMs == null || recoveredMs > bound.toMillis()) {
                    row.overBound++;
                    misses.add(fault + " #" + row.count + " at " + TimeUnit.NANOSECONDS.toSeconds(healed - started) + " s: "
                            + (recoveredMs == null ? "no success within " + observe.toMillis() + " ms" : recoveredMs + " ms"));
                }
                if (recoveredMs != null) {
                    row.recoveries.add(recoveredMs);
                }
                row.worstRecoveryMs = recoveredMs == null ? Math.max(row.worstRecoveryMs, observe.toMillis() + 1)
                        : Math.max(row.worstRecoveryMs, recoveredMs);
                if (round % faults.size() == 0) {
                    System.out.printf("soak: %d faults, %d s, %s%n", round,
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), load);
                }
            }
            bench.proxy().pass();
            load.stop();
            long heapAfter = heapAfterGc(memory);

            System.out.println("soak: " + round + " faults in " + seconds + " s (seed " + seed + "); " + load);
            System.out.printf("soak: heap after GC: %.1f MiB before, %.1f MiB after%n", heapBefore / 1048576.0,
                    heapAfter / 1048576.0);
            System.out.println("soak: recovery bound " + bound.toMillis() + " ms (connectBackoffMax + connectTimeout + 1 s)");
            System.out.println("| fault | count | heal -> first success: median | worst | over bound | worst overshoot past deadline |");
            System.out.println("|---|---|---|---|---|---|");
            table.forEach((f, row) -> {
                List<Long> sorted = new ArrayList<>(row.recoveries);
                sorted.sort(null);
                String median = sorted.isEmpty() ? "-" : sorted.get(sorted.size() / 2) + " ms";
                String worst = row.worstRecoveryMs > observe.toMillis() ? "> " + observe.toMillis() + " ms"
                        : row.worstRecoveryMs + " ms";
                System.out.printf("| %s | %d | %s | %s | %d | %d ms |%n", f, row.count, median, worst, row.overBound,
                        row.worstOvershootMs);
            });
            misses.forEach(m -> System.out.println("soak: recovery over the bound: " + m));

            LoadHarness done = load;
            TidewireClient closing = client;
            assertAll("soak",
                    () -> assertEquals(0, done.misrouted(), "replies reached the wrong caller: " + done.examples().get("misrouted")),
                    () -> assertEquals(0, done.corrupted(), "calls succeeded with a changed payload: " + done.examples().get("corrupted")),
                    () -> assertEquals(0, done.late(), "calls ended later than deadline + " + GRACE.toMillis()
                            + " ms; worst overshoot " + done.worstOvershoot().toMillis() + " ms; e.g. " + done.examples().get("late")),
                    () -> assertTrue(RecoveryTest.TYPED.containsAll(done.errors().keySet()),
                            "unexpected outcomes " + done.errors() + ": " + done.examples()),
                    () -> assertEquals(List.of(), misses, "heal -> first success over " + bound.toMillis() + " ms"),
                    () -> assertTrue(heapAfter - heapBefore < HEAP_GROWTH_LIMIT,
                            "heap after GC grew by " + (heapAfter - heapBefore) / 1048576 + " MiB"),
                    () -> assertNothingLeftAndClose(closing));
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

    private static long heapAfterGc(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
