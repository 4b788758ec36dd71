package dev.tidewire.tool.compare;

import dev.tidewire.tool.load.Runner;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;
import java.util.Optional;

/**
 * The CPU time (user + system) of this JVM and of a server's process over exactly one
 * measurement window: a {@link Runner.WindowHook} that reads both clocks when the window starts
 * and again when it ends.
 *
 * <ul>
 *   <li>This JVM (the client): {@code com.sun.management.OperatingSystemMXBean.getProcessCpuTime()}
 *       (on Linux the process's user + system time, {@code times(2)}, in clock ticks of 10 ms);
 *       where that bean is missing or answers -1, {@code ProcessHandle.current().info()
 *       .totalCpuDuration()} ({@code /proc/self/stat} on Linux); else unavailable. This JVM also
 *       runs the tool's own load generator (caller threads, histograms), which is part of the
 *       figure for every system alike.</li>
 *   <li>The server: {@code ProcessHandle.info().totalCpuDuration()} of the server's process (a
 *       child JVM, or redis-server); unavailable when the server runs in this JVM
 *       ({@code --in-process}: its time is then inside the client's figure).</li>
 * </ul>
 */
final class CpuMeter implements Runner.WindowHook {
    /** How this JVM's CPU time is read, for the report. */
    static final String CLIENT_SOURCE = clientSource();
    /** How the server's CPU time is read, for the report. */
    static final String SERVER_SOURCE = "ProcessHandle.info().totalCpuDuration() of the server's process"
            + " (/proc/<pid>/stat on Linux: user + system, in clock ticks)";

    private final ProcessHandle server; // null: the server runs in this JVM
    private long clientStart = -1;
    private long serverStart = -1;
    private long clientEnd = -1;
    private long serverEnd = -1;

    /** A meter for a system whose server runs in {@code server} (empty: in this JVM). */
    CpuMeter(Optional<ProcessHandle> server) {
        this.server = server.orElse(null);
    }

    @Override
    public void windowStarted() {
        clientStart = clientCpuNanos();
        serverStart = processCpuNanos(server);
    }

    @Override
    public void windowEnded() {
        clientEnd = clientCpuNanos();
        serverEnd = processCpuNanos(server);
    }

    /** CPU nanoseconds of this JVM within the window, or -1 if unavailable. */
    long clientNanos() {
        return delta(clientStart, clientEnd);
    }

    /** CPU nanoseconds of the server's process within the window, or -1 if unavailable (or in this JVM). */
    long serverNanos() {
        return delta(serverStart, serverEnd);
    }

    private static long delta(long start, long end) {
        return start < 0 || end < 0 || end < start ? -1 : end - start;
    }

    /** This JVM's CPU time so far, nanoseconds, or -1 if it cannot be read. */
    static long clientCpuNanos() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            long t = sun.getProcessCpuTime();
            if (t >= 0) {
                return t;
            }
        }
        return processCpuNanos(ProcessHandle.current());
    }

    /** {@code p}'s CPU time so far, nanoseconds, or -1 if {@code p} is null or its time cannot be read. */
    static long processCpuNanos(ProcessHandle p) {
        if (p == null) {
            return -1;
        }
        try {
            return p.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static String clientSource() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean sun
                && sun.getProcessCpuTime() >= 0) {
            return "com.sun.management.OperatingSystemMXBean.getProcessCpuTime() of this JVM (user + system)";
        }
        if (processCpuNanos(ProcessHandle.current()) >= 0) {
            return "ProcessHandle.current().info().totalCpuDuration() (/proc/self/stat on Linux: user + system)";
        }
        return "unavailable on this JVM";
    }
}
