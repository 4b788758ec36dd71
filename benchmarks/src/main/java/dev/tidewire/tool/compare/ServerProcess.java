package dev.tidewire.tool.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One {@link EchoServers} server in a child JVM: the same {@code java} executable and class path
 * as this JVM, main class {@link EchoServers}. {@link #start} waits (bounded) for the child's
 * {@link EchoServers#READY} line; {@link #close()} closes the child's standard input (the child
 * then shuts its server down and exits), and if it has not exited within a bound sends SIGTERM
 * ({@code destroy}), then SIGKILL ({@code destroyForcibly}). A shutdown hook kills the child if
 * this JVM exits first; and a child whose parent dies sees its standard input end and stops.
 */
final class ServerProcess implements EchoServers.Running {
    /** How long {@link #close()} waits for each step (stdin closed, SIGTERM, SIGKILL). */
    static final Duration STOP_STEP = Duration.ofSeconds(10);
    private static final int KEEP_LINES = 40;

    private final Process process;
    private final Thread hook;
    private final int port;
    private final String name;

    private ServerProcess(Process process, Thread hook, int port, String name) {
        this.process = process;
        this.hook = hook;
        this.port = port;
        this.name = name;
    }

    /**
     * Starts the child for {@code spec} with the JVM options {@code jvmArgs} and waits up to
     * {@code startTimeout} for its port. The child's lines before the port go to {@code log};
     * later ones (unexpected: a stack trace) to {@code stray}, prefixed with {@code name}.
     *
     * @throws IllegalStateException if the child exits or does not report its port in time
     */
    static ServerProcess start(String name, EchoServers.Spec spec, List<String> jvmArgs, Duration startTimeout,
            Consumer<String> log, Consumer<String> stray) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        cmd.addAll(jvmArgs);
        if (Runtime.version().feature() >= 22 && jvmArgs.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) {
            cmd.add("--enable-native-access=ALL-UNNAMED"); // netty-tcnative and epoll load JNI libraries
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), EchoServers.class.getName()));
        cmd.addAll(spec.args());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the " + name + " server JVM: " + e.getMessage(), e);
        }
        Thread hook = new Thread(p::destroyForcibly, "compare-server-kill-" + p.pid());
        Runtime.getRuntime().addShutdownHook(hook);
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        Deque<String> lines = new ArrayDeque<>();
        Thread reader = new Thread(() -> read(p, ready, lines, log, line -> stray.accept(name + " server: " + line)),
                "compare-server-out-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        ServerProcess sp = new ServerProcess(p, hook, -1, name);
        int port;
        try {
            port = ready.get(startTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            sp.close();
            throw new IllegalStateException("the " + name + " server JVM did not report its port within "
                    + startTimeout.toSeconds() + " s; its output: " + tail(lines));
        } catch (ExecutionException e) {
            sp.close();
            throw new IllegalStateException(e.getCause().getMessage() + "; its output: " + tail(lines));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sp.close();
            throw new IllegalStateException("interrupted while starting the " + name + " server JVM");
        }
        return new ServerProcess(p, hook, port, name);
    }

    private static void read(Process p, CompletableFuture<Integer> ready, Deque<String> lines, Consumer<String> log,
            Consumer<String> stray) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!ready.isDone() && line.startsWith(EchoServers.READY)) {
                    try {
                        ready.complete(Integer.parseInt(line.substring(EchoServers.READY.length()).trim()));
                    } catch (NumberFormatException e) {
                        ready.completeExceptionally(new IllegalStateException("bad ready line '" + line + "'"));
                    }
                    continue;
                }
                synchronized (lines) {
                    lines.addLast(line);
                    if (lines.size() > KEEP_LINES) {
                        lines.removeFirst();
                    }
                }
                (ready.isDone() ? stray : log).accept(line);
            }
        } catch (IOException e) {
            // the child is gone; the exit status tells the rest
        }
        if (!ready.isDone()) {
            String status;
            try {
                status = p.waitFor(5, TimeUnit.SECONDS) ? "exited with code " + p.exitValue() : "closed its output";
            } catch (InterruptedException e) {
                status = "closed its output";
            }
            ready.completeExceptionally(new IllegalStateException("the server JVM " + status
                    + " before reporting its port"));
        }
    }

    private static String tail(Deque<String> lines) {
        synchronized (lines) {
            return lines.isEmpty() ? "(none)" : String.join(" | ", lines);
        }
    }

    /** The {@code java} launcher running this JVM, else {@code java.home}'s. */
    static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * The options of this JVM worth passing to a server JVM: heap sizing and the collector
     * ({@code -Xmx}, {@code -Xms}, {@code -Xmn}, {@code -Xss}, {@code -XX:*RAMPercentage},
     * {@code -XX:+Use*GC}, {@code -XX:MaxDirectMemorySize}); not agents, debug or test options.
     */
    static List<String> inheritedJvmArgs() {
        List<String> keep = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xmn") || a.startsWith("-Xss")
                    || a.matches("-XX:(Max|Min|Initial)RAMPercentage=.*") || a.matches("-XX:\\+Use\\w*GC")
                    || a.startsWith("-XX:MaxDirectMemorySize=")) {
                keep.add(a);
            }
        }
        return keep;
    }

    /** The child's process id. */
    @Override
    public java.util.Optional<ProcessHandle> serverProcess() {
        return java.util.Optional.of(process.toHandle());
    }

    /**
     * Stops {@code process} by its pid: SIGTERM ({@code destroy}) and a wait of {@code step}, then,
     * if it is still alive, SIGKILL ({@code destroyForcibly}) and another wait. Shared by every
     * child process the tool starts (server JVMs, redis-server).
     */
    static void terminate(Process process, Duration step) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(step.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(step.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    long pid() {
        return process.pid();
    }

    @Override
    public int port() {
        return port;
    }

    /**
     * Stops the child: closes its standard input and waits; then SIGTERM and waits; then SIGKILL
     * and waits. Each wait is {@link #STOP_STEP}. Idempotent.
     */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // already closed, or the child is gone
        }
        try {
            if (!process.waitFor(STOP_STEP.toMillis(), TimeUnit.MILLISECONDS)) {
                terminate(process, STOP_STEP);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        if (!process.isAlive()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // this JVM is shutting down; the hook has nothing left to kill
            }
        }
    }

    @Override
    public String toString() {
        return name + " server JVM pid " + process.pid() + " port " + port;
    }
}
