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
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;

/**
 * A hand-driven server for tests that need a misbehaving peer: it accepts one connection on
 * 127.0.0.1, answers HELLO, and then does exactly what the test says (read frames, write any
 * bytes). Blocking calls time out after 5 s so a broken test cannot hang.
 */
public final class ScriptedPeer implements AutoCloseable {
    private final ServerSocket listener;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
    private final Deque<Frame> received = new ArrayDeque<>();

    public ScriptedPeer() throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listener.setSoTimeout(5000);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    /** Accepts the client and completes the handshake, announcing {@code maxInFlight}. */
    public ScriptedPeer acceptAndHello(int maxInFlight) throws IOException {
        socket = listener.accept();
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
        Frame hello = nextFrame();
        if (hello.type() != FrameType.HELLO) {
            throw new IOException("expected HELLO, got " + hello);
        }
        send(new Frame(FrameType.HELLO, 0,
                new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, maxInFlight, "scripted", Map.of()).encode()));
        return this;
    }

    /** Accepts the client, reads its HELLO and answers with a connection-level ERROR instead. */
    public void acceptAndRefuse(int code, String message) throws IOException {
        socket = listener.accept();
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
        nextFrame(FrameType.HELLO);
        send(new Frame(FrameType.ERROR, 0, new dev.tidewire.protocol.ErrorPayload(code, message).encode()));
    }

    /** The next frame from the client (PINGs are answered and skipped). */
    public Frame nextFrame() throws IOException {
        byte[] buf = new byte[4096];
        for (int guard = 0; guard < 100_000; guard++) {
            while (!received.isEmpty()) {
                Frame f = received.poll();
                if (f.type() == FrameType.PING && out != null) {
                    send(Frame.of(FrameType.PONG, f.requestId()));
                    continue;
                }
                return f;
            }
            int n = in.read(buf);
            if (n < 0) {
                throw new IOException("client closed");
            }
            decoder.decode(ByteBuffer.wrap(buf, 0, n), received::add);
        }
        throw new IOException("no frame");
    }

    /** The next frame of the given type, skipping others. */
    public Frame nextFrame(FrameType type) throws IOException {
        for (int i = 0; i < 10_000; i++) {
            Frame f = nextFrame();
            if (f.type() == type) {
                return f;
            }
        }
        throw new IOException("no " + type);
    }

    public void send(Frame frame) throws IOException {
        out.write(FrameEncoder.encode(frame));
        out.flush();
    }

    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** True once the client has closed its side (read returns end of stream or a reset). */
    public boolean clientClosed() {
        try {
            socket.setSoTimeout(50);
            byte[] buf = new byte[4096];
            int n = in.read(buf);
            if (n > 0) {
                decoder.decode(ByteBuffer.wrap(buf, 0, n), received::add);
                return false;
            }
            return n < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
        }
        listener.close();
    }
}
