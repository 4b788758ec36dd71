package dev.tidewire.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fault-injecting TCP proxy on 127.0.0.1 for tests. Each accepted client connection is paired
 * with a connection to the target; two pumps copy bytes, each through a delay line, so faults can
 * be switched while traffic flows:
 * <ul>
 *   <li>{@link #pass()}: forward as is;</li>
 *   <li>{@link #latency(Duration)}: every chunk arrives that much later (throughput is kept);</li>
 *   <li>{@link #bandwidth(long)}: at most that many bytes per second per direction;</li>
 *   <li>{@link #blackhole()}: read everything, forward nothing; sockets stay open;</li>
 *   <li>{@link #corruptServerBytes()}: in the server-to-client direction, flip the first byte of
 *       the next frame header (the proxy follows frame boundaries, so the corruption lands in a
 *       header, where the protocol detects it);</li>
 *   <li>{@link #corruptPayloads(long, double)}: in the server-to-client direction, flip one byte
 *       at a random offset inside the payload of a frame, for each frame with a payload with the
 *       given probability; headers (so framing) stay intact. Randomness is seeded: the choices of
 *       each connection and direction come from {@code seed}, the connection's number and the
 *       direction ({@link #corruptPayloadsBothWays(long, double)} also corrupts requests);</li>
 *   <li>{@link #oneByteWrites()}: forward each byte in its own write;</li>
 *   <li>{@link #resetAll()}: abort every connection with a TCP reset (RST);</li>
 *   <li>{@link #resetStorm(Duration)}: until healed, a connection accepted is reset at once and
 *       every open connection is reset again every period (a path that keeps sending RST);</li>
 *   <li>{@link #halfCloseAll()}: end the stream towards every client (FIN) but keep reading
 *       (what the server sends after that is dropped);</li>
 *   <li>{@link #halfClose()}: half-close every open connection and, until healed, each new one as
 *       soon as it is accepted.</li>
 * </ul>
 * {@link #pass()} heals every switchable fault (blackhole, corruption, one-byte writes, latency,
 * bandwidth, reset storm, half-close of new connections); what a fault already did to a
 * connection (a reset, a FIN, a dropped or flipped byte) stays done. "Server kill and restart" is
 * not a proxy fault: stop the {@code TidewireServer} and start a new one on the same port (the
 * proxy connects to its target afresh for each accepted connection).
 * Every loop stops when the proxy closes; threads are daemons named {@code proxy-*}.
 */
public final class FaultProxy implements AutoCloseable {
    private enum Mode { PASS, BLACKHOLE, CORRUPT, CORRUPT_PAYLOAD, ONE_BYTE }

    private final ServerSocket listener;
    private volatile InetSocketAddress target;
    private final List<Pair> pairs = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong corrupted = new AtomicLong();
    private final AtomicLong corruptedPayloads = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private volatile Mode mode = Mode.PASS;
    private volatile long payloadSeed;
    private volatile double payloadProbability;
    private volatile boolean payloadBothWays;
    private final AtomicInteger payloadEpoch = new AtomicInteger(); // bumped by each corruptPayloads*
    private volatile boolean halfCloseNew;
    private volatile long stormPeriodNanos;                        // 0: no reset storm
    private final AtomicInteger stormEpoch = new AtomicInteger();  // ends an older storm's thread
    private volatile long latencyNanos;
    private volatile long bytesPerSecond;
    private volatile int corruptConnection = -1; // -1: every connection
    private volatile boolean responsesOnly;      // payload corruption hits RESPONSE frames only
    private volatile boolean closed;

    public FaultProxy(InetSocketAddress target) throws IOException {
        this.target = target;
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        start("proxy-accept", this::acceptLoop);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    /**
     * Connects the connections accepted from now on to {@code target} (a server that moved, as in
     * a rolling restart behind a TCP balancer); open connections keep their server.
     */
    public FaultProxy retarget(InetSocketAddress target) {
        this.target = java.util.Objects.requireNonNull(target, "target");
        return this;
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections open now. */
    public int open() {
        return (int) pairs.stream().filter(p -> !p.closed).count();
    }

    /** Frames corrupted so far: headers, and payloads ({@link #corruptedPayloads()} counts those alone). */
    public long corrupted() {
        return corrupted.get() + corruptedPayloads.get();
    }

    /** Payload bytes flipped so far by {@link #corruptPayloads(long, double)}. */
    public long corruptedPayloads() {
        return corruptedPayloads.get();
    }

    /** Connections reset so far (by {@link #resetAll()} or the reset storm). */
    public long resets() {
        return resets.get();
    }

    /** Heals every fault: forwards as is from now on (see the class comment). */
    public FaultProxy pass() {
        mode = Mode.PASS;
        latencyNanos = 0;
        bytesPerSecond = 0;
        halfCloseNew = false;
        stormPeriodNanos = 0;
        stormEpoch.incrementAndGet();
        return this;
    }

    public FaultProxy latency(Duration latency) {
        latencyNanos = latency.toNanos();
        return this;
    }

    public FaultProxy bandwidth(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
        return this;
    }

    public FaultProxy blackhole() {
        mode = Mode.BLACKHOLE;
        return this;
    }

    /** Corrupts server-to-client bytes on every connection. */
    public FaultProxy corruptServerBytes() {
        corruptConnection = -1;
        mode = Mode.CORRUPT;
        return this;
    }

    /** Corrupts server-to-client bytes only on the connection accepted {@code n}-th (1-based). */
    public FaultProxy corruptServerBytesOfConnection(int n) {
        corruptConnection = n;
        mode = Mode.CORRUPT;
        return this;
    }

    /**
     * Flips one byte inside the payload of server-to-client frames: each frame that has a payload
     * is hit with probability {@code perFrame} (0..1), at a random offset, XOR a random non-zero
     * value. Headers are left intact, so the framing holds and only a checksum over payloads (or
     * the JSON parser, by luck) can notice.
     */
    public FaultProxy corruptPayloads(long seed, double perFrame) {
        return payloads(seed, perFrame, false);
    }

    /** As {@link #corruptPayloads(long, double)}, in both directions (requests too). */
    public FaultProxy corruptPayloadsBothWays(long seed, double perFrame) {
        return payloads(seed, perFrame, true);
    }

    /**
     * Flips one byte inside the payload of every RESPONSE frame from the server, on every
     * connection; the framing stays intact (CRC32C trailers, when both HELLOs announced them, are
     * skipped, not corrupted): what a checksum must catch.
     */
    public FaultProxy corruptServerPayloads() {
        payloads(1, 1.0, false);
        responsesOnly = true;
        return this;
    }

    /** As {@link #corruptServerPayloads()}, only on the connection accepted {@code n}-th (1-based). */
    public FaultProxy corruptServerPayloadsOfConnection(int n) {
        corruptServerPayloads();
        corruptConnection = n;
        return this;
    }

    private FaultProxy payloads(long seed, double perFrame, boolean bothWays) {
        if (!(perFrame >= 0 && perFrame <= 1)) {
            throw new IllegalArgumentException("perFrame must be in 0..1, got " + perFrame);
        }
        corruptConnection = -1;
        responsesOnly = false;
        payloadSeed = seed;
        payloadProbability = perFrame;
        payloadBothWays = bothWays;
        payloadEpoch.incrementAndGet();
        mode = Mode.CORRUPT_PAYLOAD;
        return this;
    }

    public FaultProxy oneByteWrites() {
        mode = Mode.ONE_BYTE;
        return this;
    }

    /** Aborts every open connection with RST (both sides). */
    public void resetAll() {
        for (Pair p : pairs) {
            p.reset();
        }
    }

    /**
     * Until {@link #pass()}: resets every open connection now and every {@code period}, and each
     * connection accepted as soon as it is accepted (before a byte passes).
     */
    public FaultProxy resetStorm(Duration period) {
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("period must be > 0, got " + period);
        }
        int epoch = stormEpoch.incrementAndGet();
        stormPeriodNanos = period.toNanos();
        resetAll();
        start("proxy-reset-storm", () -> {
            // bounded: ends when healed, when a newer storm starts, or when the proxy closes
            for (int i = 0; i < 10_000_000 && !closed && stormEpoch.get() == epoch; i++) {
                LockSupport.parkNanos(period.toNanos());
                if (stormEpoch.get() == epoch && !closed) {
                    resetAll();
                }
            }
        });
        return this;
    }

    /** Sends FIN towards every client, as a server that half-closes; keeps the rest open. */
    public void halfCloseAll() {
        for (Pair p : pairs) {
            p.halfClose();
        }
    }

    /** Until {@link #pass()}: half-closes every open connection now and each new one when accepted. */
    public FaultProxy halfClose() {
        halfCloseNew = true;
        halfCloseAll();
        return this;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return;
            }
            int number = accepted.incrementAndGet();
            Socket server = new Socket();
            try {
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                server.connect(target, 2000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(server);
                continue;
            }
            Pair pair = new Pair(number, client, server);
            pairs.add(pair);
            if (stormPeriodNanos > 0) {
                pair.reset();
                continue;
            }
            if (halfCloseNew) {
                pair.halfClose();
            }
            pair.start();
        }
    }

    private void start(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (Pair p : pairs) {
            p.close();
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // test helper
        }
    }

    private record Chunk(byte[] bytes, long dueNanos) {
    }

    /**
     * Follows frame boundaries in one direction (header of {@link dev.tidewire.protocol.Protocol#HEADER_LENGTH}
     * bytes, payload length as u32 at bytes 12..15, then a 4-byte CRC32C trailer on every frame after
     * the HELLOs when both announced {@code "checksum":"crc32c"}: the first frame's payload, this
     * direction's HELLO, is kept to learn that); one instance per direction, used by its reader
     * thread only, except {@link #helloDone} and {@link #offersChecksum}, which the other
     * direction reads.
     */
    private static final class FrameBoundaries {
        private static final int HEADER = dev.tidewire.protocol.Protocol.HEADER_LENGTH;
        private final byte[] header = new byte[HEADER];
        private final long streamSeed;
        private final java.io.ByteArrayOutputStream hello = new java.io.ByteArrayOutputStream();
        private int headerPos;
        private long payloadLeft;
        private long trailerLeft;
        private int type;
        private long frames;
        private long flipWhenLeft = -1; // flip the payload byte that has this many bytes left (itself included)
        private boolean lost;
        private int epoch = -1;
        private java.util.SplittableRandom random;
        volatile boolean helloDone;
        volatile boolean offersChecksum;
        FrameBoundaries other; // the opposite direction

        FrameBoundaries(long streamSeed) {
            this.streamSeed = streamSeed;
        }

        /**
         * Scans a chunk; if {@code corrupt}, flips the first byte of the next header in it; if
         * {@code payloadOdds > 0}, flips a byte in a payload with that probability per frame
         * (RESPONSE frames only if {@code responsesOnly}). Returns the number of header bytes (at
         * most 1) and payload bytes flipped, as {@code headers + (payloads << 1)}.
         */
        int scan(byte[] chunk, boolean corrupt, double payloadOdds, boolean responsesOnly, long seed, int seedEpoch) {
            if (payloadOdds > 0 && seedEpoch != epoch) {
                epoch = seedEpoch;
                random = new java.util.SplittableRandom(seed * 0x9E3779B97F4A7C15L + streamSeed);
            }
            int done = 0;
            for (int i = 0; i < chunk.length && !lost; i++) {
                if (payloadLeft > 0) {
                    int skip = (int) Math.min(payloadLeft, chunk.length - i);
                    if (flipWhenLeft > 0 && flipWhenLeft <= payloadLeft && flipWhenLeft > payloadLeft - skip) {
                        int at = i + (int) (payloadLeft - flipWhenLeft);
                        chunk[at] ^= (byte) (1 + random.nextInt(255));
                        flipWhenLeft = -1;
                        done += 2;
                    }
                    if (frames == 0) {
                        hello.write(chunk, i, skip);
                    }
                    payloadLeft -= skip;
                    i += skip - 1;
                    if (payloadLeft == 0 && trailerLeft == 0) {
                        frameEnded();
                    }
                    continue;
                }
                if (trailerLeft > 0) {
                    int skip = (int) Math.min(trailerLeft, chunk.length - i);
                    trailerLeft -= skip;
                    i += skip - 1;
                    if (trailerLeft == 0) {
                        frameEnded();
                    }
                    continue;
                }
                if (headerPos == 0 && corrupt) {
                    chunk[i] ^= (byte) 0xFF;
                    lost = true; // framing is gone for good on this connection
                    done += 1;
                    break;
                }
                header[headerPos++] = chunk[i];
                if (headerPos == HEADER) {
                    type = header[3];
                    payloadLeft = ((header[12] & 0xFFL) << 24) | ((header[13] & 0xFF) << 16)
                            | ((header[14] & 0xFF) << 8) | (header[15] & 0xFF);
                    trailerLeft = frames > 0 && other != null && other.helloDone && offersChecksum
                            && other.offersChecksum ? 4 : 0;
                    headerPos = 0;
                    flipWhenLeft = -1;
                    if (payloadLeft > 0 && payloadOdds > 0 && (!responsesOnly || type == 0x03)
                            && random.nextDouble() < payloadOdds) {
                        flipWhenLeft = payloadLeft - random.nextLong(payloadLeft); // 1..payloadLeft
                    }
                    if (payloadLeft == 0 && trailerLeft == 0) {
                        frameEnded();
                    }
                }
            }
            return done;
        }

        private void frameEnded() {
            if (frames++ == 0) {
                offersChecksum = hello.toString(java.nio.charset.StandardCharsets.UTF_8)
                        .replace(" ", "").contains("\"checksum\":\"crc32c\"");
                helloDone = true;
            }
        }
    }

    /** One proxied connection: a client socket, a server socket, four threads. */
    private final class Pair {
        final int number;
        final Socket client;
        final Socket server;
        final FrameBoundaries down;
        final FrameBoundaries up;
        volatile boolean closed;
        volatile boolean halfClosed; // FIN sent to the client: what the server sends next is dropped

        Pair(int number, Socket client, Socket server) {
            this.number = number;
            this.client = client;
            this.server = server;
            this.down = new FrameBoundaries(number * 2L);
            this.up = new FrameBoundaries(number * 2L + 1);
            this.down.other = up;
            this.up.other = down;
        }

        void halfClose() {
            halfClosed = true;
            try {
                client.shutdownOutput();
            } catch (IOException ignored) {
                // already gone
            }
        }

        void start() {
            direction(client, server, false);
            direction(server, client, true);
        }

        // reader -> delay line -> writer, so latency does not cut throughput
        private void direction(Socket from, Socket to, boolean fromServer) {
            BlockingQueue<Chunk> line = new LinkedBlockingQueue<>();
            String name = "proxy-" + number + (fromServer ? "-down" : "-up");
            FaultProxy.this.start(name + "-read", () -> {
                byte[] buf = new byte[16 * 1024];
                try (InputStream in = from.getInputStream()) {
                    for (int n; !FaultProxy.this.closed && (n = in.read(buf)) >= 0; ) {
                        Mode m = mode;
                        if (m == Mode.BLACKHOLE) {
                            continue;
                        }
                        byte[] chunk = java.util.Arrays.copyOf(buf, n);
                        boolean target = corruptConnection < 0 || corruptConnection == number;
                        boolean corrupt = fromServer && m == Mode.CORRUPT && target;
                        double odds = m == Mode.CORRUPT_PAYLOAD && target && (fromServer || payloadBothWays)
                                ? payloadProbability : 0;
                        int flipped = (fromServer ? down : up).scan(chunk, corrupt, odds, responsesOnly, payloadSeed,
                                payloadEpoch.get());
                        corrupted.addAndGet(flipped & 1);
                        corruptedPayloads.addAndGet(flipped >> 1);
                        line.add(new Chunk(chunk, System.nanoTime() + latencyNanos));
                    }
                } catch (IOException e) {
                    // the source went away
                } finally {
                    line.add(new Chunk(null, 0));
                }
            });
            FaultProxy.this.start(name + "-write", () -> {
                try (OutputStream out = to.getOutputStream()) {
                    for (int guard = 0; guard < Integer.MAX_VALUE && !FaultProxy.this.closed; guard++) {
                        Chunk c = line.poll(100, TimeUnit.MILLISECONDS);
                        if (c == null) {
                            continue;
                        }
                        if (c.bytes == null) {
                            break;
                        }
                        for (long wait; (wait = c.dueNanos - System.nanoTime()) > 0 && !FaultProxy.this.closed; ) {
                            LockSupport.parkNanos(wait);
                        }
                        if (fromServer && halfClosed) {
                            continue; // the client's side is half-closed: nothing more reaches it
                        }
                        write(out, c.bytes);
                    }
                } catch (IOException | InterruptedException e) {
                    // the destination went away
                } finally {
                    close();
                }
            });
        }

        private void write(OutputStream out, byte[] bytes) throws IOException {
            if (mode == Mode.ONE_BYTE) {
                for (byte b : bytes) {
                    out.write(b);
                    out.flush();
                }
                return;
            }
            long rate = bytesPerSecond;
            if (rate <= 0) {
                out.write(bytes);
                return;
            }
            int step = (int) Math.max(1, Math.min(bytes.length, rate / 100)); // ~10 ms of budget per write
            for (int off = 0; off < bytes.length; off += step) {
                int n = Math.min(step, bytes.length - off);
                out.write(bytes, off, n);
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1) * n / rate);
            }
        }

        void reset() {
            resets.incrementAndGet();
            try {
                client.setSoLinger(true, 0);
                server.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // already closed
            }
            close();
        }

        void close() {
            closed = true;
            closeQuietly(client);
            closeQuietly(server);
            pairs.remove(this);
        }
    }
}
