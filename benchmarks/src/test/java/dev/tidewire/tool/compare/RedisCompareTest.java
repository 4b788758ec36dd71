package dev.tidewire.tool.compare;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.tool.load.Machine;
import dev.tidewire.tool.load.Payloads;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Redis rows of {@code compare}: {@link RedisServer} (start, answer, stop by pid), the Lettuce
 * and Jedis targets' reply checks, a short {@code compare} of the Redis rows, and their skip note
 * when {@code redis-server} is not on the PATH. Tests that need {@code redis-server} are skipped
 * only when it is not on the PATH.
 */
class RedisCompareTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final byte[] VALUE = Payloads.bytes(0, 100);

    @TempDir
    Path dir;

    private static Path redisServerOnPath() {
        Optional<Path> exe = RedisServer.find(System.getenv("PATH"));
        assumeTrue(exe.isPresent(), "redis-server is not on the PATH");
        return exe.get();
    }

    @Test
    @Timeout(60)
    void redisServerStartsAnswersWithTheValueAndStopsByPid() throws Exception {
        Path exe = redisServerOnPath();
        List<String> log = new ArrayList<>();
        RedisServer server = RedisServer.start(exe, VALUE, RedisServer.START_TIMEOUT, line -> {
            synchronized (log) {
                log.add(line);
            }
        });
        ProcessHandle process = server.process();
        try {
            assertTrue(process.isAlive());
            assertEquals(server.pid(), process.pid());
            assertTrue(ProcessHandle.current().children().anyMatch(p -> p.pid() == server.pid()));
            assertTrue(server.port() > 0 && server.port() < 65536, server::toString);
            assertTrue(server.version().matches("\\d+\\.\\d+(\\.\\d+)?.*"), server::version);
            assertEquals(server.version(), RedisServer.version(exe));
            assertArrayEquals(VALUE, get(server.port(), RedisServer.KEY));
            assertNull(get(server.port(), "no-such-key".getBytes(StandardCharsets.US_ASCII)));
        } finally {
            server.close();
        }
        assertFalse(process.isAlive(), "redis-server's pid is gone after close()");
        server.close(); // idempotent
        assertEquals(0L, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count());
    }

    @Test
    void findLooksForAnExecutableRedisServerOnThePath() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Path notExecutable = Files.createDirectory(dir.resolve("plain"));
        Files.writeString(notExecutable.resolve(RedisServer.EXECUTABLE), "");
        Path bin = Files.createDirectory(dir.resolve("bin"));
        Path exe = Files.writeString(bin.resolve(RedisServer.EXECUTABLE), "#!/bin/sh\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwx------"));
        String sep = java.io.File.pathSeparator;

        assertEquals(Optional.empty(), RedisServer.find(null));
        assertEquals(Optional.empty(), RedisServer.find(""));
        assertEquals(Optional.empty(), RedisServer.find(empty + sep + notExecutable));
        assertEquals(Optional.of(exe), RedisServer.find(empty + sep + sep + notExecutable + sep + bin));
    }

    @Test
    @Timeout(60)
    void aWrongValueAMissingKeyOrAnErrorIsAFailedCall() throws Exception {
        Path exe = redisServerOnPath();
        byte[] other = Payloads.bytes(1, 100);
        try (RedisServer server = RedisServer.start(exe, VALUE, RedisServer.START_TIMEOUT, line -> { })) {
            try (RedisPeers.Lettuce lettuce = RedisPeers.Lettuce.connect(server.port(), TIMEOUT)) {
                lettuce.sync(VALUE).call(0, 0);
                assertNull(asyncFailure(lettuce, VALUE));
                assertThrows(ExclusivePool.MismatchedReply.class, () -> lettuce.sync(other).call(0, 1));
                assertInstanceOf(ExclusivePool.MismatchedReply.class, asyncFailure(lettuce, other));
            }
            try (RedisPeers.JedisPools pools = new RedisPeers.JedisPools(server.port(), TIMEOUT)) {
                pools.target(3, VALUE).call(0, 0);
                assertEquals(3, pools.open(), "the pool's connections are opened when it is built");
                assertThrows(ExclusivePool.MismatchedReply.class, () -> pools.target(2, other).call(0, 0));
                assertEquals(2, pools.open(), "a new pool per cell, the previous one closed");
            }
            // a missing key and an error reply (GET on a list) fail as well
            assertEquals(":1", command(server.port(), "DEL", RedisServer.KEY));
            try (RedisPeers.Lettuce lettuce = RedisPeers.Lettuce.connect(server.port(), TIMEOUT)) {
                assertThrows(ExclusivePool.MismatchedReply.class, () -> lettuce.sync(VALUE).call(0, 0));
                assertTrue(command(server.port(), "RPUSH", RedisServer.KEY, VALUE).startsWith(":"));
                Throwable wrongType = asyncFailure(lettuce, VALUE);
                assertTrue(wrongType != null && wrongType.getMessage().contains("WRONGTYPE"), String.valueOf(wrongType));
            }
        }
        assertEquals(List.of(), Machine.awaitThreadsGone(RedisPeers::lettuceThread, Duration.ofSeconds(10)));
        assertEquals(0L, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count());
    }

    @Test
    @Timeout(180)
    void compareRunsTheRedisRowsWithoutErrorsAndLeavesNothingBehind() throws Exception {
        redisServerOnPath();
        Set<String> threadsBefore = new HashSet<>(Machine.threads(n -> true));
        Path json = dir.resolve("redis.json");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int code = CompareCommand.main(List.of("--systems", "lettuce-async,lettuce-sync,jedis-pool", "--callers", "4",
                "--seconds", "1", "--warmup-seconds", "1", "--json", json.toString()),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8),
                false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + stderr);
        assertEquals("", stderr.toString(StandardCharsets.UTF_8), "nothing on stderr (no SLF4J or Lettuce warnings)");

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        List<String> names = new ArrayList<>();
        for (JsonNode s : report.path("systems")) {
            names.add(s.path("name").asText());
            assertEquals("redis", s.path("family").asText(), s::toString);
            assertTrue(s.path("server").asText().startsWith("redis-server "), s::toString);
            assertTrue(s.path("description").asText().contains("not Tidewire's echo server"), s::toString);
        }
        assertEquals(List.of("lettuce-async", "lettuce-sync", "jedis-pool"), names);
        assertEquals(3, report.path("results").size(), report::toString);
        for (JsonNode r : report.path("results")) {
            assertTrue(r.path("calls").asLong() > 0, r::toString);
            assertEquals(0, r.path("errorCount").asLong(), r::toString);
            assertEquals(0, r.path("unfinished").asLong(), r::toString);
        }
        assertEquals(0, report.path("leftoverThreads").size(), report::toString);
        assertTrue(out.contains("in a child process, pid "), out);
        assertTrue(out.contains("client: Lettuce "), out);
        assertTrue(out.contains("client: Jedis "), out);

        // no redis-server outlives the run, and no thread it started (Lettuce's, the callers', the drains)
        assertEquals(List.of(), ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(List.of(),
                Machine.threads(n -> !threadsBefore.contains(n) && !n.startsWith("process reaper")
                        && !n.startsWith("awaitility"))));
    }

    @Test
    @Timeout(120)
    void withoutRedisServerOnThePathTheRedisRowsAreSkippedWithANoteAndTheRestRuns() throws Exception {
        Path json = dir.resolve("skipped.json");
        CompareCommand c = CompareCommand.parse(List.of("--systems", "lettuce-async,jedis-pool,lettuce-sync-vt,"
                + "exclusive-pool", "--callers", "2", "--seconds", "1", "--warmup-seconds", "0",
                "--json", json.toString()));
        c.redisSearchPath(Files.createDirectory(dir.resolve("no-redis-here")).toString());
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        int code = c.run(new PrintStream(stdout, true, StandardCharsets.UTF_8), System.err, false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("note: the Redis rows (lettuce-async, lettuce-sync-vt, jedis-pool) skipped: no"
                + " executable redis-server on the PATH"), out);
        assertEquals(1, out.lines().filter(l -> l.contains("Redis rows")).count(), out);
        if (Runtime.version().feature() < 21) {
            assertTrue(out.contains("note: lettuce-sync-vt skipped: virtual threads need JDK 21"), out);
        }
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(1, report.path("systems").size(), report::toString);
        assertEquals("exclusive-pool", report.path("systems").get(0).path("name").asText());
        assertTrue(report.path("results").get(0).path("calls").asLong() > 0, report::toString);
        assertEquals(0L, ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count());
    }

    @Test
    void theVirtualThreadRowsAreNamedAndSkippedBeforeJdk21() {
        CompareCommand c = CompareCommand.parse(List.of());
        List<String> vt = c.allSystems().stream().filter(CompareCommand.SystemUnderTest::virtualThreads)
                .map(CompareCommand.SystemUnderTest::name).toList();
        assertEquals(List.of(CompareCommand.VTHREADS, "grpc-blocking-vt", "lettuce-sync-vt"), vt);
        assertEquals("tidewire-blocking-vt", CompareCommand.VTHREADS);
        boolean canRun = Runtime.version().feature() >= 21;
        assertEquals(canRun, c.systems().stream().anyMatch(CompareCommand.SystemUnderTest::virtualThreads));
        assertTrue(c.allSystems().stream().filter(s -> s.name().equals("grpc-blocking-vt")).findFirst().orElseThrow()
                .description().contains("4 channel(s)"), "the most channels of --grpc-channels (default 1,4)");
    }

    /** The RESP reply of GET {@code key}: the bulk string's bytes, or null for a nil reply. */
    private static byte[] get(int port, byte[] key) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(RedisServer.resp("GET".getBytes(StandardCharsets.US_ASCII), key));
            out.flush();
            InputStream in = s.getInputStream();
            String head = line(in);
            if (head.equals("$-1")) {
                return null;
            }
            assertTrue(head.startsWith("$"), head);
            byte[] value = in.readNBytes(Integer.parseInt(head.substring(1)));
            assertEquals("", line(in));
            return value;
        }
    }

    /** Sends one command, returns the first line of its reply. */
    private static String command(int port, String name, byte[]... args) throws IOException {
        byte[][] parts = new byte[args.length + 1][];
        parts[0] = name.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(args, 0, parts, 1, args.length);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(RedisServer.resp(parts));
            return line(s.getInputStream());
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 4096; i++) {
            int c = in.read();
            if (c < 0 || c == '\n') {
                break;
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    /** Runs one async call and returns what it completed with (null: success), waiting at most 10 s. */
    private static Throwable asyncFailure(RedisPeers.Lettuce lettuce, byte[] expected) throws Exception {
        CompletableFuture<Optional<Throwable>> done = new CompletableFuture<>();
        lettuce.async(expected).start(0, 0, failure -> done.complete(Optional.ofNullable(failure)));
        return done.get(10, TimeUnit.SECONDS).orElse(null);
    }
}
