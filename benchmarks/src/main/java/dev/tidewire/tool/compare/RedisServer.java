package dev.tidewire.tool.compare;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code redis-server} child process for the Redis rows of {@code compare}: the executable found
 * on the {@code PATH} ({@link #find}), started on 127.0.0.1 and a free port with no persistence
 * ({@code --save "" --appendonly no}), protected mode off (it only listens on loopback) and in the
 * foreground ({@code --daemonize no}), logging warnings only; its output is drained by a daemon
 * thread (lines until it is ready go to the caller's log, all are kept for error messages).
 * {@link #start} waits (bounded) until it answers {@code PING}, then {@code SET}s the benchmark key
 * {@link #KEY} to the given value, over a plain socket speaking RESP (no client library involved).
 *
 * <p>{@link #close()} stops it by its pid: SIGTERM ({@code destroy}), then SIGKILL
 * ({@code destroyForcibly}) if it has not exited within {@link #STOP_STEP}. A shutdown hook kills
 * it if this JVM exits first.
 */
final class RedisServer implements AutoCloseable {
    /** The executable's name looked up on the {@code PATH}. */
    static final String EXECUTABLE = "redis-server";
    /** The key every Redis row reads. */
    static final byte[] KEY = "tidewire:compare:value".getBytes(StandardCharsets.US_ASCII);
    /** How long {@link #close()} waits after SIGTERM, and again after SIGKILL. */
    static final Duration STOP_STEP = Duration.ofSeconds(10);
    /** How long {@code compare} lets it take to answer {@code PING}. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    /** How long {@link #version} waits for {@code redis-server --version}. */
    static final Duration VERSION_TIMEOUT = Duration.ofSeconds(10);
    private static final int KEEP_LINES = 40;
    private static final int START_ATTEMPTS = 3;
    private static final Pattern VERSION = Pattern.compile("\\bv=(\\S+)");

    private final Process process;
    private final Thread hook;
    private final int port;
    private final String version;
    private final Deque<String> lines;
    private final Thread reader;
    private final AtomicBoolean started;

    private RedisServer(Process process, Thread hook, int port, String version, Deque<String> lines, Thread reader,
            AtomicBoolean started) {
        this.started = started;
        this.process = process;
        this.hook = hook;
        this.port = port;
        this.version = version;
        this.lines = lines;
        this.reader = reader;
    }

    /**
     * The first executable {@code redis-server} in the directories of {@code pathVariable} (a
     * {@code PATH} value, entries separated by {@link File#pathSeparator}); empty if there is none
     * or {@code pathVariable} is null.
     */
    static Optional<Path> find(String pathVariable) {
        if (pathVariable == null) {
            return Optional.empty();
        }
        for (String dir : pathVariable.split(Pattern.quote(File.pathSeparator))) {
            if (dir.isEmpty()) {
                continue;
            }
            try {
                Path p = Path.of(dir, EXECUTABLE);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            } catch (RuntimeException e) {
                // an entry that is no valid path: skip it
            }
        }
        return Optional.empty();
    }

    /**
     * The version {@code executable --version} prints ({@code 7.0.15} from {@code Redis server
     * v=7.0.15 sha=...}), or its whole first line if that has no {@code v=}.
     *
     * @throws IllegalStateException if it cannot run, fails or takes longer than {@link #VERSION_TIMEOUT}
     */
    static String version(Path executable) {
        Process p;
        try {
            p = new ProcessBuilder(executable.toString(), "--version").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + executable + " --version: " + e.getMessage(), e);
        }
        try {
            p.getOutputStream().close();
            StringBuilder text = new StringBuilder();
            Thread reader = drain(p.getInputStream(), line -> {
                synchronized (text) {
                    text.append(line).append('\n');
                }
            }, "compare-redis-version-" + p.pid());
            if (!p.waitFor(VERSION_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(executable + " --version did not finish within "
                        + VERSION_TIMEOUT.toSeconds() + " s");
            }
            reader.join(VERSION_TIMEOUT.toMillis());
            String out;
            synchronized (text) {
                out = text.toString().trim();
            }
            if (p.exitValue() != 0 || out.isEmpty()) {
                throw new IllegalStateException(executable + " --version exited with code " + p.exitValue()
                        + ": " + out);
            }
            Matcher m = VERSION.matcher(out);
            return m.find() ? m.group(1) : out.lines().findFirst().orElse(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + executable + " --version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Starts {@code executable} on 127.0.0.1 and a free port, waits up to {@code startTimeout} for
     * it to answer {@code PING}, and sets {@link #KEY} to {@code value}. A start that loses its
     * port to another process (between choosing it and redis binding it) is retried on a new one,
     * at most three times. Its output lines until then go to {@code log} as they come (later
     * ones, such as its shutdown notes, only to {@link #tail()}).
     *
     * @throws IllegalStateException if it exits, does not answer in time or refuses the {@code SET};
     *     the message carries its last lines of output. No process is left running then.
     */
    static RedisServer start(Path executable, byte[] value, Duration startTimeout, Consumer<String> log) {
        String version = version(executable);
        IllegalStateException last = null;
        for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
            RedisServer server = launch(executable, freePort(), version, log);
            try {
                server.awaitPing(System.nanoTime() + startTimeout.toNanos());
                server.set(KEY, value, startTimeout);
                server.started.set(true);
                return server;
            } catch (IllegalStateException e) {
                server.close();
                last = e;
                if (!server.outputContains("Address already in use")) {
                    throw e;
                }
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        }
        throw last;
    }

    private static RedisServer launch(Path executable, int port, String version, Consumer<String> log) {
        List<String> cmd = new ArrayList<>(List.of(executable.toString(),
                "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning"));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + executable + ": " + e.getMessage(), e);
        }
        Thread hook = new Thread(p::destroyForcibly, "compare-redis-kill-" + p.pid());
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            p.getOutputStream().close();
        } catch (IOException e) {
            // nothing is sent to it anyway
        }
        Deque<String> lines = new ArrayDeque<>();
        AtomicBoolean started = new AtomicBoolean();
        Thread reader = drain(p.getInputStream(), line -> {
            synchronized (lines) {
                lines.addLast(line);
                if (lines.size() > KEEP_LINES) {
                    lines.removeFirst();
                }
            }
            if (!started.get()) {
                log.accept(line);
            }
        }, "compare-redis-out-" + p.pid());
        return new RedisServer(p, hook, port, version, lines, reader, started);
    }

    /** A daemon thread reading {@code in} line by line into {@code sink} until it ends. */
    private static Thread drain(InputStream in, Consumer<String> sink, String name) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    sink.accept(line);
                }
            } catch (IOException e) {
                // the process is gone
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** A port free on 127.0.0.1 right now (the OS's choice). */
    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    /** Polls with {@code PING} until {@code +PONG} comes back, the process exits, or the deadline passes. */
    private void awaitPing(long deadline) {
        String lastFailure = "no attempt";
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException(EXECUTABLE + " exited with code " + exitCode()
                        + " before answering PING; its output: " + tail());
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IllegalStateException(EXECUTABLE + " did not answer PING on 127.0.0.1:" + port
                        + " in time (last attempt: " + lastFailure + "); its output: " + tail());
            }
            try {
                String reply = command(Duration.ofNanos(Math.max(left, TimeUnit.MILLISECONDS.toNanos(1))),
                        "PING".getBytes(StandardCharsets.US_ASCII));
                if (reply.equals("+PONG")) {
                    return;
                }
                lastFailure = "reply '" + reply + "'";
            } catch (IOException e) {
                lastFailure = e.toString();
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // within the deadline-bounded loop
        }
    }

    private void set(byte[] key, byte[] value, Duration timeout) {
        String reply;
        try {
            reply = command(timeout, "SET".getBytes(StandardCharsets.US_ASCII), key, value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot SET the benchmark key in " + EXECUTABLE + ": " + e, e);
        }
        if (!reply.equals("+OK")) {
            throw new IllegalStateException(EXECUTABLE + " answered '" + reply + "' to SET");
        }
    }

    /**
     * Sends one RESP command on a new connection and returns the first line of the reply (a
     * simple string, an error or a bulk length), for {@code PING} and {@code SET}.
     */
    private String command(Duration timeout, byte[]... parts) throws IOException {
        int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), ms);
            s.setSoTimeout(ms);
            OutputStream out = s.getOutputStream();
            out.write(resp(parts));
            out.flush();
            return readLine(s.getInputStream());
        }
    }

    /** A RESP array of bulk strings. */
    static byte[] resp(byte[]... parts) {
        List<byte[]> chunks = new ArrayList<>();
        chunks.add(("*" + parts.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (byte[] p : parts) {
            chunks.add(("$" + p.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            chunks.add(p);
            chunks.add("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        int n = chunks.stream().mapToInt(c -> c.length).sum();
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] c : chunks) {
            System.arraycopy(c, 0, all, at, c.length);
            at += c.length;
        }
        return all;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < 64 * 1024; i++) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed after '" + line + "'");
            }
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
        }
        throw new IOException("reply line longer than 64 KiB");
    }

    private boolean outputContains(String text) {
        synchronized (lines) {
            return lines.stream().anyMatch(l -> l.contains(text));
        }
    }

    /** The last lines of its output, joined; for error messages. */
    String tail() {
        synchronized (lines) {
            return lines.isEmpty() ? "(none)" : String.join(" | ", lines);
        }
    }

    private String exitCode() {
        try {
            return Integer.toString(process.exitValue());
        } catch (IllegalThreadStateException e) {
            return "?";
        }
    }

    /** Its port on 127.0.0.1. */
    int port() {
        return port;
    }

    /** Its process (for its CPU time). */
    ProcessHandle process() {
        return process.toHandle();
    }

    /** Its process id. */
    long pid() {
        return process.pid();
    }

    /** What {@code redis-server --version} printed as the version, such as {@code 7.0.15}. */
    String version() {
        return version;
    }

    /**
     * Stops it by its pid: SIGTERM and a wait of {@link #STOP_STEP}, then SIGKILL and another.
     * Idempotent.
     *
     * @throws IllegalStateException if it is still running after all that
     */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                ServerProcess.terminate(process, STOP_STEP);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        if (!process.isAlive()) {
            try {
                reader.join(TimeUnit.SECONDS.toMillis(1)); // its last lines, for an error message
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // this JVM is shutting down; the hook has nothing left to kill
            }
        } else {
            throw new IllegalStateException(EXECUTABLE + " pid " + process.pid() + " still running after SIGTERM and"
                    + " SIGKILL");
        }
    }

    @Override
    public String toString() {
        return EXECUTABLE + " " + version + " pid " + process.pid() + " port " + port;
    }
}
