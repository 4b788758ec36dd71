package dev.tidewire.testing;

import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * A server that answers HELLO and then never reads again: the peer of every "stops reading" test.
 * Its receive buffer is small, so a client's writes back up within a few hundred kilobytes.
 * Optionally it keeps sending PINGs, so it looks alive to a heartbeat that only listens.
 * Plain TCP, or TLS with the given context. Each connection has a daemon thread of its own (test
 * code: the peer may block, the client under test must not).
 */
public final class StalledPeer implements AutoCloseable {
    private final ServerSocket listener;
    private final long pingEveryMillis;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private volatile boolean closed;

    /**
     * @param tls             null for plain TCP
     * @param pingEveryMillis 0 for silence after HELLO, else send a PING this often
     */
    public StalledPeer(SSLContext tls, long pingEveryMillis) throws IOException {
        this.pingEveryMillis = pingEveryMillis;
        ServerSocket s = tls == null ? new ServerSocket() : tls.getServerSocketFactory().createServerSocket();
        s.setReceiveBufferSize(4096);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        this.listener = s;
        this.acceptor = new Thread(this::acceptLoop, "stalled-peer-accept");
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket socket = listener.accept();
                sockets.add(socket);
                Thread t = new Thread(() -> serve(socket), "stalled-peer-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket socket) {
        try {
            socket.setSoTimeout(5000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
            List<Frame> frames = new ArrayList<>();
            byte[] buf = new byte[256];
            // read the HELLO in small pieces, so little beyond it is consumed
            for (int i = 0; i < 10_000 && frames.isEmpty(); i++) {
                int n = in.read(buf);
                if (n < 0) {
                    return;
                }
                decoder.decode(ByteBuffer.wrap(buf, 0, n), frames::add);
            }
            out.write(FrameEncoder.encode(new Frame(FrameType.HELLO, 0,
                    new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "stalled", Map.of()).encode())));
            out.flush();
            // from here on: never read again
            long nonce = 0;
            for (int i = 0; i < 100_000 && !closed && !socket.isClosed(); i++) {
                if (pingEveryMillis > 0) {
                    out.write(FrameEncoder.encode(Frame.of(FrameType.PING, ++nonce)));
                    out.flush();
                    TimeUnit.MILLISECONDS.sleep(pingEveryMillis); // pacing the peer's own sends, not a wait for a condition
                } else {
                    TimeUnit.MILLISECONDS.sleep(100);
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client went away, or the peer is closing
        }
    }

    /** Connections accepted so far. */
    public int accepted() {
        return sockets.size();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // best effort
            }
        }
        acceptor.interrupt();
    }
}
