package dev.tidewire.tool.compare;

import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.tool.load.BlockingTarget;
import dev.tidewire.tool.load.Payloads;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Map;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;

/**
 * The exclusive-lease peer, the way Jedis pools connections: a commons-pool2
 * {@link GenericObjectPool} (default configuration; {@code maxTotal} 8 unless set) of plain
 * blocking sockets to a Tidewire reference server. A call borrows a socket, writes one REQUEST
 * frame, blocks reading its RESPONSE, and returns the socket: one round trip per lease, so a
 * socket carries one call at a time. Speaks the protocol with the {@code protocol} module's
 * {@link FrameEncoder}, {@link FrameDecoder}, {@link RequestPayload} and {@link Hello}.
 */
final class ExclusivePool implements AutoCloseable {
    /** An echo reply that is not the request. */
    static final class MismatchedReply extends RuntimeException {
        MismatchedReply(String message) {
            super(message, null, false, false);
        }
    }

    /** The server answered ERROR: the socket is still good. */
    static final class ServerError extends Exception {
        ServerError(ErrorPayload e) {
            super("server error " + e.code() + ": " + e.message(), null, false, false);
        }
    }

    private final GenericObjectPool<SocketConnection> pool;
    private final Duration timeout;

    ExclusivePool(InetSocketAddress server, int maxTotal, Duration timeout) {
        this.timeout = timeout;
        GenericObjectPoolConfig<SocketConnection> config = new GenericObjectPoolConfig<>();
        config.setMaxTotal(maxTotal);
        config.setMaxIdle(maxTotal); // commons-pool2's default maxIdle (8) would close sockets when maxTotal > 8
        config.setJmxEnabled(false);
        this.pool = new GenericObjectPool<>(new BasePooledObjectFactory<>() {
            @Override
            public SocketConnection create() throws IOException {
                return SocketConnection.open(server, timeout);
            }

            @Override
            public PooledObject<SocketConnection> wrap(SocketConnection c) {
                return new DefaultPooledObject<>(c);
            }

            @Override
            public void destroyObject(PooledObject<SocketConnection> p) {
                p.getObject().close();
            }
        }, config);
    }

    /** Borrow, one round trip, return; C caller threads. The borrow waits at most the timeout. */
    BlockingTarget target(String op, int callers, int payloadBytes) {
        byte[] opBytes = RequestPayload.opBytes(op);
        byte[][] payloads = new byte[callers][];
        for (int i = 0; i < callers; i++) {
            payloads[i] = Payloads.bytes(i, payloadBytes);
        }
        return (caller, seq) -> {
            SocketConnection c = pool.borrowObject(timeout);
            byte[] reply;
            try {
                reply = c.call(opBytes, payloads[caller]);
            } catch (ServerError e) {
                pool.returnObject(c);
                throw e;
            } catch (IOException | RuntimeException e) {
                pool.invalidateObject(c);
                throw e;
            }
            pool.returnObject(c);
            if (!Arrays.equals(reply, payloads[caller])) {
                throw new MismatchedReply("echo reply differs from the request");
            }
        };
    }

    /** Sockets open now (borrowed or idle). */
    int open() {
        return pool.getNumActive() + pool.getNumIdle();
    }

    @Override
    public void close() {
        pool.close();
    }

    /** One blocking socket speaking the Tidewire protocol, one call at a time. */
    static final class SocketConnection implements Closeable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final FrameDecoder decoder = new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_SIZE);
        private final ArrayDeque<Frame> frames = new ArrayDeque<>();
        private final byte[] buf = new byte[16 * 1024];
        private final long timeoutNanos;
        private long nextId = 1;

        private SocketConnection(Socket socket, Duration timeout) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
            this.timeoutNanos = timeout.toNanos();
        }

        /** Connects, sends HELLO and reads the server's HELLO. */
        static SocketConnection open(InetSocketAddress address, Duration timeout) throws IOException {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(address, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
                s.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
                SocketConnection c = new SocketConnection(s, timeout);
                Hello hello = new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0,
                        "tidewire-bench-exclusive-pool/0.1", Map.of());
                c.out.write(FrameEncoder.encode(new Frame(FrameType.HELLO, 0, hello.encode())));
                Frame reply = c.read(System.nanoTime() + c.timeoutNanos);
                if (reply.type() != FrameType.HELLO) {
                    throw new IOException("expected the server's HELLO, got " + reply);
                }
                Hello.decode(reply.payload());
                c.decoder.maxFrameSize(Protocol.DEFAULT_MAX_FRAME_SIZE);
                return c;
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }

        /** Writes one REQUEST and blocks for its reply (answering PINGs meanwhile). */
        byte[] call(byte[] opBytes, byte[] body) throws IOException, ServerError {
            long id = nextId++;
            int length = RequestPayload.length(opBytes, body);
            ByteBuffer frame = ByteBuffer.allocate(Protocol.HEADER_LENGTH + length);
            FrameEncoder.writeHeader(frame, FrameType.REQUEST, id, length);
            RequestPayload.write(frame, opBytes, body);
            out.write(frame.array());
            long deadline = System.nanoTime() + timeoutNanos;
            for (int i = 0; i < 10_000; i++) {
                Frame f = read(deadline);
                switch (f.type()) {
                    case RESPONSE -> {
                        if (f.requestId() != id) {
                            throw new IOException("reply for request " + f.requestId() + " while waiting for " + id);
                        }
                        return f.payload();
                    }
                    case ERROR -> {
                        if (f.requestId() == id) {
                            throw new ServerError(ErrorPayload.decode(f.payload()));
                        }
                        throw new IOException("connection error from the server: " + ErrorPayload.decode(f.payload()));
                    }
                    case PING -> out.write(FrameEncoder.encode(Frame.of(FrameType.PONG, f.requestId())));
                    default -> {
                        // GOAWAY, PONG: keep waiting; the server answers (or refuses) every request it read
                    }
                }
            }
            throw new IOException("no reply among 10000 frames");
        }

        private Frame read(long deadline) throws IOException {
            while (frames.isEmpty()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new SocketTimeoutException("no reply within " + timeoutNanos / 1_000_000 + " ms");
                }
                int n = in.read(buf);
                if (n < 0) {
                    decoder.endOfStream();
                    throw new EOFException("the server closed the connection");
                }
                decoder.decode(ByteBuffer.wrap(buf, 0, n), frames::add);
            }
            return frames.poll();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
