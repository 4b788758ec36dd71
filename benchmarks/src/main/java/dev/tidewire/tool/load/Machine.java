package dev.tidewire.tool.load;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/** Facts about the machine a run happened on, and a bounded wait for threads to end. */
public final class Machine {
    private Machine() {
    }

    /** Cores, JVM, OS, CPU model and the load average when the run started. */
    public static ObjectNode json() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("cores", Runtime.getRuntime().availableProcessors());
        o.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        o.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        o.put("cpu", cpuModel());
        o.put("maxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
        o.put("loadAverage1m", Math.round(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage() * 100) / 100.0);
        o.put("startedAt", Instant.now().toString());
        return o;
    }

    /** One line: {@code 2 cores, OpenJDK 64-Bit Server VM 17.0.15+6, load average 1.23}. */
    public static String describe() {
        ObjectNode m = json();
        return m.path("cores").asInt() + " cores (" + m.path("cpu").asText() + "), " + m.path("java").asText()
                + ", load average " + m.path("loadAverage1m").asText();
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown");
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Names of live threads matching {@code name}, sorted. */
    public static List<String> threads(Predicate<String> name) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(name).sorted().collect(Collectors.toList());
    }

    /** Waits up to {@code timeout} for every thread matching {@code name} to end; returns those still alive. */
    public static List<String> awaitThreadsGone(Predicate<String> name, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> alive = threads(name);
        while (!alive.isEmpty() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            alive = threads(name);
        }
        return alive;
    }

    /** Threads started by Tidewire (client and server), gRPC/Netty, or this tool's drivers. */
    public static boolean benchmarkThread(String name) {
        return name.startsWith("tidewire-") || name.startsWith("grpc-") || name.startsWith("bench-");
    }
}
