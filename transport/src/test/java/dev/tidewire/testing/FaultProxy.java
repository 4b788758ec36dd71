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
 *       header, where the protocol detects it; payload bytes are protected by TCP's checksum or
 *       TLS, not by the Tidewire framing);</li>
 *   <li>{@link #corruptServerPayloads()}: in the server-to-client direction, flip one bit in the
 *       middle of the payload of every RESPONSE frame, leaving the framing intact (what a faulty
 *       middlebox or NIC does; the frame's CRC32C trailer, when negotiated, catches it);</li>
 *   <li>{@link #oneByteWrites()}: forward each byte in its own write;</li>
 *   <li>{@link #resetAll()}: abort every connection with a TCP reset (RST);</li>
 *   <li>{@link #halfCloseAll()}: end the stream towards every client (FIN) but keep reading.</li>
 * </ul>
 * Every loop stops when the proxy closes; threads are daemons named {@code proxy-*}.
 */
public final class FaultProxy implements AutoCloseable {
    private enum Mode { PASS, BLACKHOLE, CORRUPT, CORRUPT_PAYLOAD, ONE_BYTE }

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final List<Pair> pairs = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong corrupted = new AtomicLong();
    private volatile Mode mode = Mode.PASS;
    private volatile long latencyNanos;
    private volatile long bytesPerSecond;
    private volatile int corruptConnection = -1; // -1: every connection
    private volatile boolean closed;

    public FaultProxy(InetSocketAddress target) throws IOException {
        this.target = target;
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        start("proxy-accept", this::acceptLoop);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections open now. */
    public int open() {
        return (int) pairs.stream().filter(p -> !p.closed).count();
    }

    /** Frames corrupted so far (headers, or RESPONSE payloads). */
    public long corrupted() {
        return corrupted.get();
    }

    public FaultProxy pass() {
        mode = Mode.PASS;
        latencyNanos = 0;
        bytesPerSecond = 0;
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
     * Flips one bit in the middle of every non-empty RESPONSE payload from the server, on every
     * connection; the framing stays intact (the proxy skips CRC32C trailers when both HELLOs
     * announced them).
     */
    public FaultProxy corruptServerPayloads() {
        corruptConnection = -1;
        mode = Mode.CORRUPT_PAYLOAD;
        return this;
    }

    /** As {@link #corruptServerPayloads()}, only on the connection accepted {@code n}-th (1-based). */
    public FaultProxy corruptServerPayloadsOfConnection(int n) {
        corruptConnection = n;
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

    /** Sends FIN towards every client, as a server that half-closes; keeps the rest open. */
    public void halfCloseAll() {
        for (Pair p : pairs) {
            try {
                p.client.shutdownOutput();
            } catch (IOException ignored) {
                // already gone
            }
        }
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
     * Follows frame boundaries in one direction (16-byte header, length at bytes 12..15, then a
     * 4-byte CRC32C trailer on every frame after HELLO when both HELLOs announced
     * {@code "checksum":"crc32c"}). The first frame's payload (the HELLO) is kept to learn that.
     */
    private static final class FrameBoundaries {
        private final byte[] header = new byte[16];
        private final java.io.ByteArrayOutputStream hello = new java.io.ByteArrayOutputStream();
        private int headerPos;
        private long payloadLength;      // of the frame being skipped
        private long left;               // payload and trailer bytes of that frame still to come
        private int type;
        private long frames;
        private volatile boolean helloDone;
        private boolean offersChecksum;  // this direction's HELLO announced CRC32C
        private java.util.function.BooleanSupplier trailers = () -> false;
        private boolean lost;

        /**
         * Scans a chunk; {@code CORRUPT} flips the first byte of the next header in it,
         * {@code CORRUPT_PAYLOAD} one bit in the middle of each RESPONSE payload. Returns how many
         * frames it corrupted.
         */
        int scan(byte[] chunk, Mode corrupt) {
            int done = 0;
            for (int i = 0; i < chunk.length && !lost; i++) {
                if (left > 0) {
                    int skip = (int) Math.min(left, chunk.length - i);
                    long pos = payloadLength + trailerLength() - left; // offset of chunk[i] in the payload
                    long target = payloadLength / 2;
                    if (corrupt == Mode.CORRUPT_PAYLOAD && type == 0x03 && payloadLength > 0
                            && target >= pos && target < pos + skip) {
                        chunk[i + (int) (target - pos)] ^= 0x01;
                        done++;
                    }
                    if (frames == 0) {
                        hello.write(chunk, i, (int) Math.min(skip, Math.max(0, payloadLength - pos)));
                    }
                    left -= skip;
                    i += skip - 1;
                    if (left == 0) {
                        frameEnded();
                    }
                    continue;
                }
                if (headerPos == 0 && corrupt == Mode.CORRUPT) {
                    chunk[i] ^= (byte) 0xFF;
                    lost = true; // framing is gone for good on this connection
                    done++;
                    break;
                }
                header[headerPos++] = chunk[i];
                if (headerPos == 16) {
                    type = header[3];
                    payloadLength = ((header[12] & 0xFFL) << 24) | ((header[13] & 0xFF) << 16)
                            | ((header[14] & 0xFF) << 8) | (header[15] & 0xFF);
                    left = payloadLength + trailerLength();
                    headerPos = 0;
                    if (left == 0) {
                        frameEnded();
                    }
                }
            }
            return done;
        }

        private int trailerLength() {
            return frames > 0 && trailers.getAsBoolean() ? 4 : 0;
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
        final FrameBoundaries frames = new FrameBoundaries();   // server to client
        final FrameBoundaries upFrames = new FrameBoundaries(); // client to server: only its HELLO is read
        volatile boolean closed;

        Pair(int number, Socket client, Socket server) {
            this.number = number;
            this.client = client;
            this.server = server;
        }

        void start() {
            // the server's HELLO follows the client's, which the up pump has read by then
            frames.trailers = () -> upFrames.helloDone && frames.offersChecksum && upFrames.offersChecksum;
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
                        if (fromServer) {
                            boolean target = corruptConnection < 0 || corruptConnection == number;
                            int n2 = frames.scan(chunk, target ? m : Mode.PASS);
                            if (n2 > 0) {
                                corrupted.addAndGet(n2);
                            }
                        } else if (!upFrames.helloDone) {
                            upFrames.scan(chunk, Mode.PASS);
                        }
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
