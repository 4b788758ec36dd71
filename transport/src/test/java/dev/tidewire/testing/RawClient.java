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
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;

/** A hand-driven client for server tests: sends any bytes, reads frames; reads time out after 5 s. */
public final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
    private final Deque<Frame> received = new ArrayDeque<>();
    private boolean offerChecksum;
    private boolean checksum; // both HELLOs offered CRC32C: frames after them carry trailers
    private boolean reset;    // the last read ended in a reset, not an orderly end of stream

    public RawClient(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 2000);
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Sends HELLO (no checksum offer, as a client without the feature, unless via {@link #helloWithChecksum}) and returns the server's. */
    public Hello hello() throws IOException {
        send(new Frame(FrameType.HELLO, 0, new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "raw", Map.of(),
                offerChecksum).encode()));
        Frame f = next();
        if (f == null || f.type() != FrameType.HELLO) {
            throw new IOException("expected HELLO, got " + f);
        }
        return Hello.decode(f.payload());
    }

    /**
     * Sends HELLO offering CRC32C and returns the server's; if the server offers it too, frames
     * sent and received from then on carry trailers.
     */
    public Hello helloWithChecksum() throws IOException {
        offerChecksum = true;
        return hello();
    }

    /** Whether both HELLOs offered CRC32C. */
    public boolean checksum() {
        return checksum;
    }

    public void send(Frame frame) throws IOException {
        out.write(FrameEncoder.encode(frame, checksum));
        out.flush();
    }

    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** The next frame, or null if the server closed the connection. */
    public Frame next() throws IOException {
        byte[] buf = new byte[8192];
        for (int guard = 0; guard < 100_000; guard++) {
            if (!received.isEmpty()) {
                return received.poll();
            }
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException e) {
                throw e;
            } catch (IOException e) {
                reset = true;
                return null; // reset
            }
            if (n < 0) {
                return null;
            }
            decoder.decode(ByteBuffer.wrap(buf, 0, n), f -> {
                received.add(f);
                if (f.type() == FrameType.HELLO && offerChecksum) {
                    checksum = Hello.decode(f.payload()).checksum();
                    decoder.checksum(checksum); // from the frame after the server's HELLO
                }
            });
        }
        throw new IOException("no frame");
    }

    /** Whether the last {@link #next()} that returned null saw a reset rather than an orderly end of stream (FIN). */
    public boolean wasReset() {
        return reset;
    }

    /**
     * Writes {@code bytes}; false if the write failed, which after an earlier write means the server
     * answered that one with a reset: it has closed its socket.
     */
    public boolean trySendRaw(byte[] bytes) {
        try {
            sendRaw(bytes);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Reads until the server closes; returns true if it did within the socket timeout. */
    public boolean awaitClosed() throws IOException {
        for (int i = 0; i < 10_000; i++) {
            if (next() == null) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
