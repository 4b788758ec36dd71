package dev.tidewire.pool;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;

/**
 * A real DNS server for tests: a {@code dnsmasq} process on 127.0.0.1 (UDP and TCP, one free
 * port), answering only from its own data, authoritatively for {@code .test} (unknown names
 * there are NXDOMAIN). A and AAAA records come from a hosts file ({@link #setHosts}, reloaded
 * with SIGHUP); SRV records and {@code address=} records live in its configuration file
 * ({@link #setSrv}, {@link #setAddress}), which dnsmasq reads only when it starts, so changing
 * them restarts the process on the same port. Every record has the TTL given to {@link #start}.
 * Queries are logged ({@link #queries}); the log (dnsmasq's stderr) is {@link #logFile()}.
 *
 * <pre>{@code
 * try (Dnsmasq dns = Dnsmasq.start(tempDir, 1)) {
 *     dns.setHosts(Map.of("api.example.test", List.of("127.0.0.2", "127.0.0.3")));
 *     dns.setSrv("_tidewire._tcp.example.test", List.of(new Dnsmasq.Srv(10, 60, 7001, "api.example.test")));
 *     DnsEndpointResolver r = DnsEndpointResolver.forName("api.example.test", 7001).nameServer(dns.nameServer()).build();
 * }
 * }</pre>
 *
 * <p>Skips the calling test (JUnit assumption) when dnsmasq is not installed: {@code .ci/run}
 * installs Debian's {@code dnsmasq-base}.
 */
public final class Dnsmasq implements AutoCloseable {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
    private static final int PORT_ATTEMPTS = 5;
    private static final Pattern READ_HOSTS = Pattern.compile("read .*hosts - \\d+ names?");

    /**
     * One SRV record: {@code target} is a host name, or {@code "."} for "no service here".
     *
     * @param priority 0..65535
     * @param weight   0..65535
     * @param port     0..65535
     * @param target   the target host, or "."
     */
    public record Srv(int priority, int weight, int port, String target) {
    }

    private final Path binary;
    private final int ttlSeconds;
    private final Path conf;
    private final Path hosts;
    private final Path log;
    private final Map<String, List<Srv>> srv = new LinkedHashMap<>();
    private final Map<String, String> addresses = new LinkedHashMap<>();
    private int port;
    private Process process;

    private Dnsmasq(Path binary, Path dir, int ttlSeconds) {
        this.binary = binary;
        this.ttlSeconds = ttlSeconds;
        this.conf = dir.resolve("dnsmasq.conf");
        this.hosts = dir.resolve("hosts");
        this.log = dir.resolve("dnsmasq.log");
    }

    /**
     * Starts dnsmasq with its files in {@code dir} (a test's temporary directory), on a free port
     * of 127.0.0.1, with no records yet; returns once it answers queries.
     *
     * @param ttlSeconds the TTL of every record it serves ({@code local-ttl})
     */
    public static Dnsmasq start(Path dir, int ttlSeconds) throws IOException {
        Path binary = findBinary();
        Assumptions.assumeTrue(binary != null,
                "dnsmasq is not installed (on PATH or /usr/sbin/dnsmasq): .ci/run installs Debian's dnsmasq-base");
        Dnsmasq d = new Dnsmasq(binary, dir, ttlSeconds);
        Files.writeString(d.hosts, "");
        IOException last = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            d.port = freeUdpPort();
            try {
                d.launch();
                return d;
            } catch (IOException e) { // most likely the port's TCP side was taken: try another
                last = e;
            }
        }
        throw new IOException("dnsmasq did not start on any of " + PORT_ATTEMPTS + " ports", last);
    }

    private static Path findBinary() {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String p : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(p.isEmpty() ? "." : p, "dnsmasq");
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        Path sbin = Path.of("/usr/sbin/dnsmasq");
        return Files.isExecutable(sbin) ? sbin : null;
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }

    /** The address to send queries to: 127.0.0.1 and dnsmasq's port. */
    public InetSocketAddress nameServer() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    /** dnsmasq's log (its stderr, all runs): queries and answers, for diagnostics. */
    public Path logFile() {
        return log;
    }

    /** The log so far; "" if there is none. */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many queries of {@code type} (A, AAAA, SRV...) for {@code name} dnsmasq has logged, over all its runs. */
    public long queries(String type, String name) {
        String needle = "query[" + type + "] " + name + " from ";
        return log().lines().filter(l -> l.contains(needle)).count();
    }

    /**
     * Replaces every A and AAAA record with {@code nameToIps} (each name: its addresses, IPv4 or
     * IPv6). When dnsmasq runs, makes it reread them (SIGHUP) and returns once it has; when it is
     * stopped, it reads them when it starts again.
     */
    public void setHosts(Map<String, List<String>> nameToIps) throws IOException {
        StringBuilder b = new StringBuilder();
        nameToIps.forEach((name, ips) -> ips.forEach(ip -> b.append(ip).append(' ').append(name).append('\n')));
        Files.writeString(hosts, b.toString());
        if (process == null) {
            return;
        }
        long reads = hostsReads();
        long pid = running().pid();
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(pid)).redirectErrorStream(true).start();
        try {
            if (!kill.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS) || kill.exitValue() != 0) {
                kill.destroyForcibly();
                throw new IOException("kill -HUP " + pid + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        awaitReady("reread its hosts file", () -> hostsReads() > reads);
    }

    private long hostsReads() {
        Matcher m = READ_HOSTS.matcher(log());
        long n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /**
     * Replaces the SRV records of {@code name} ({@code records} empty: removes them) and restarts
     * dnsmasq on the same port; returns once it answers again. A target's addresses come from
     * {@link #setHosts} (dnsmasq then adds them to the answer's additional section) or {@link
     * #setAddress} (it does not).
     */
    public void setSrv(String name, List<Srv> records) throws IOException {
        if (records.isEmpty()) {
            srv.remove(name);
        } else {
            srv.put(name, List.copyOf(records));
        }
        restart();
    }

    /**
     * Makes {@code name} (and every name under it) resolve to {@code ip} with an {@code address=}
     * line ({@code ip} null: removes it) and restarts dnsmasq on the same port. Unlike hosts
     * entries, dnsmasq leaves these out of SRV answers' additional sections, and answers NXDOMAIN
     * for the other address family.
     */
    public void setAddress(String name, String ip) throws IOException {
        if (ip == null) {
            addresses.remove(name);
        } else {
            addresses.put(name, ip);
        }
        restart();
    }

    /** Stops dnsmasq (SIGTERM, then SIGKILL after a bounded wait); {@link #restart} starts it again on the same port. */
    public void stop() {
        Process p = process;
        process = null;
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Stops dnsmasq if it runs and starts it again, on the same port; returns once it answers. */
    public void restart() throws IOException {
        stop();
        launch();
    }

    /** Stops dnsmasq. Idempotent. */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "dnsmasq on 127.0.0.1:" + port;
    }

    private Process running() throws IOException {
        Process p = process;
        if (p == null || !p.isAlive()) {
            throw new IOException(this + " is not running; its log:\n" + log());
        }
        return p;
    }

    private void launch() throws IOException {
        List<String> lines = new ArrayList<>(List.of(
                "port=" + port,
                "listen-address=127.0.0.1",
                "bind-interfaces",
                "no-resolv",
                "no-hosts",
                "addn-hosts=" + hosts,
                "local=/test/",      // authoritative for .test: unknown names are NXDOMAIN, never forwarded
                "local-ttl=" + ttlSeconds,
                "user=",             // stay the user that runs the tests (root included): no setuid
                "group=",
                "pid-file=",
                "log-queries",
                "log-facility=-"));  // with --no-daemon: the log goes to stderr
        addresses.forEach((name, ip) -> lines.add("address=/" + name + "/" + ip));
        srv.forEach((name, records) -> records.forEach(r -> lines.add(
                ".".equals(r.target()) ? "srv-host=" + name
                        : "srv-host=" + name + "," + r.target() + "," + r.port() + "," + r.priority() + "," + r.weight())));
        Files.write(conf, lines, StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(binary.toString(), "--no-daemon", "--conf-file=" + conf)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        process = p;
        try {
            awaitReady("answer on 127.0.0.1:" + port, this::answers);
        } catch (IOException e) {
            stop();
            throw e;
        }
    }

    private void awaitReady(String what, java.util.concurrent.Callable<Boolean> condition) throws IOException {
        try {
            await().atMost(READY_TIMEOUT).pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        running(); // fails fast when the process died (port taken, bad config)
                        return condition.call();
                    });
        } catch (ConditionTimeoutException e) {
            throw new IOException("dnsmasq did not " + what + " within " + READY_TIMEOUT + "; its log:\n" + log(), e);
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IOException("dnsmasq did not " + what + ": " + cause.getMessage(), cause);
        }
    }

    /** Whether dnsmasq answers a query (an NXDOMAIN is an answer), within 200 ms. */
    private boolean answers() throws IOException {
        byte[] query = query(ThreadLocalRandom.current().nextInt(0x10000), "ready.dnsmasq.test", 1);
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            s.setSoTimeout(200);
            s.send(new DatagramPacket(query, query.length, nameServer()));
            byte[] reply = new byte[512];
            DatagramPacket packet = new DatagramPacket(reply, reply.length);
            s.receive(packet);
            return packet.getLength() >= 12 && reply[0] == query[0] && reply[1] == query[1];
        } catch (SocketTimeoutException | java.net.PortUnreachableException e) {
            return false;
        }
    }

    private static byte[] query(int id, String name, int type) {
        ByteBuffer b = ByteBuffer.allocate(512);
        b.putShort((short) id).putShort((short) 0x0100).putShort((short) 1).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0);
        for (String label : name.split("\\.")) {
            b.put((byte) label.length()).put(label.getBytes(StandardCharsets.US_ASCII));
        }
        b.put((byte) 0).putShort((short) type).putShort((short) 1);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }
}
