package dev.tidewire.testing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The switchable faults of {@link FaultProxy} in front of a raw byte-echo server. */
class FaultProxyTest {

    /** A server that echoes every byte of each connection back, until closed. */
    private static final class EchoServer implements AutoCloseable {
        final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());

        EchoServer() throws IOException {
            Thread t = new Thread(() -> {
                for (int i = 0; i < 10_000 && !listener.isClosed(); i++) {
                    try {
                        Socket s = listener.accept();
                        Thread pump = new Thread(() -> {
                            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                                in.transferTo(out);
                            } catch (IOException ignored) {
                                // the peer went away
                            }
                        }, "echo-pump");
                        pump.setDaemon(true);
                        pump.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "echo-accept");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    private static byte[] frame(int type, long id, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).put((byte) 'T').put((byte) 'W').put((byte) 1).put((byte) type)
                .putLong(id).putInt(payload.length).put(payload).array();
    }

    @Test
    void payloadCorruptionFlipsOnePayloadByteAndLeavesHeadersIntact() throws Exception {
        try (EchoServer server = new EchoServer(); FaultProxy proxy = new FaultProxy(
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), server.listener.getLocalPort()));
             Socket s = new Socket(proxy.address().getAddress(), proxy.address().getPort())) {
            s.setSoTimeout(5000);
            proxy.corruptPayloads(7, 1.0);
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int n = 1; n <= 50; n++) {
                byte[] payload = new byte[n * 37];
                Arrays.fill(payload, (byte) 'a');
                byte[] sent = frame(3, n, payload);
                s.getOutputStream().write(sent);
                byte[] got = new byte[sent.length];
                in.readFully(got);
                assertArrayEquals(Arrays.copyOf(sent, 16), Arrays.copyOf(got, 16), "header of frame " + n);
                int differ = 0;
                for (int i = 16; i < sent.length; i++) {
                    differ += sent[i] != got[i] ? 1 : 0;
                }
                assertEquals(1, differ, "payload bytes changed in frame " + n);
            }
            assertEquals(50, proxy.corruptedPayloads());
            proxy.pass();
            byte[] sent = frame(3, 99, "clean".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().write(sent);
            byte[] got = new byte[sent.length];
            in.readFully(got);
            assertArrayEquals(sent, got, "healed: bytes pass unchanged");
        }
    }

    @Test
    void resetStormAndHeldHalfCloseLastUntilHealed() throws Exception {
        try (EchoServer server = new EchoServer(); FaultProxy proxy = new FaultProxy(
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), server.listener.getLocalPort()))) {
            proxy.resetStorm(Duration.ofMillis(200));
            try (Socket s = new Socket(proxy.address().getAddress(), proxy.address().getPort())) {
                s.setSoTimeout(5000);
                assertThrows(IOException.class, () -> {
                    for (int i = 0; i < 100; i++) { // a reset shows on a read, or on a later write
                        s.getOutputStream().write(1);
                        if (s.getInputStream().read() < 0) {
                            throw new IOException("EOF");
                        }
                    }
                });
            }
            proxy.pass().halfClose(); // faults combine: heal the storm first
            try (Socket s = new Socket(proxy.address().getAddress(), proxy.address().getPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(1);
                assertEquals(-1, s.getInputStream().read(), "a new connection is half-closed while the fault holds");
            }
            proxy.pass();
            try (Socket s = new Socket(proxy.address().getAddress(), proxy.address().getPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(42);
                assertEquals(42, s.getInputStream().read(), "healed");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.resets() >= 1);
        }
    }
}
