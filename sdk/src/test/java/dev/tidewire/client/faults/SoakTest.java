package dev.tidewire.client.faults;

import static dev.tidewire.client.faults.FaultScenariosTest.CALLERS;
import static dev.tidewire.client.faults.FaultScenariosTest.assertNothingLeftAndClose;
import static dev.tidewire.client.faults.FaultScenariosTest.assertRecovers;
import static dev.tidewire.client.faults.FaultScenariosTest.assertSound;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Mixed faults, one after another, for {@code tidewire.soak.seconds} (30 s in the default test
 * run; the {@code soak} Maven profile runs 600 s): latency, a reset of every connection, a
 * corrupted frame, one-byte writes, a bandwidth cap, half-closes, clean periods. Every call must
 * end on time with its own reply or a typed error; afterwards nothing leaks and the heap after GC
 * has not grown by more than 64 MiB.
 */
class SoakTest {
    private static final Set<String> ALLOWED = Set.of("ConnectionLostException", "ConnectFailedException",
            "NotProcessedException", "RequestTimeoutException", "PoolExhaustedException", "ProtocolException");

    @Test
    void mixedFaultsForTheSoakDuration() throws Exception {
        long seconds = Long.getLong("tidewire.soak.seconds", 30);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        TidewireServer server = TidewireServer.builder().build().start();
        FaultProxy proxy = new FaultProxy(server.address());
        TidewireClient client = TidewireClient.builder().address(proxy.address()).maxConnections(8)
                .connectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build();
        List<Consumer<FaultProxy>> faults = List.of(
                FaultProxy::pass,
                p -> p.latency(Duration.ofMillis(30)),
                FaultProxy::resetAll,
                p -> p.corruptServerBytesOfConnection(p.accepted()),
                FaultProxy::oneByteWrites,
                p -> p.bandwidth(256 * 1024),
                FaultProxy::halfCloseAll);
        try (LoadHarness load = new LoadHarness(client, CALLERS, Duration.ofSeconds(2), FaultScenariosTest.GRACE, 10).start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.ok() > 1_000);
            long heapBefore = heapAfterGc(memory);
            long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            int round = 0;
            while (System.nanoTime() < end && round < 100_000) {
                Consumer<FaultProxy> fault = faults.get(round % faults.size());
                proxy.pass();
                fault.accept(proxy);
                round++;
                await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
                proxy.pass();
                await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> true);
            }
            proxy.pass();
            assertRecovers(load);
            load.stop();
            System.out.println("soak: " + round + " faults in " + seconds + " s; " + load);
            assertSound(load, ALLOWED);
            long heapAfter = heapAfterGc(memory);
            System.out.printf("heap after GC: %.1f MiB before, %.1f MiB after%n", heapBefore / 1048576.0, heapAfter / 1048576.0);
            assertTrue(heapAfter - heapBefore < 64L * 1024 * 1024, "heap grew by " + (heapAfter - heapBefore) / 1048576 + " MiB");
            assertNothingLeftAndClose(client);
        } finally {
            client.shutdownNow();
            proxy.close();
            server.close();
        }
    }

    private static long heapAfterGc(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
