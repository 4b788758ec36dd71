package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.testing.FuzzHello;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of the client's side of the HELLO exchange ({@code Handshake}, then the
 * first reads of the {@code MultiplexedConnection}) with Jazzer, through a real loopback connection:
 * the test plays a server that answers the client's HELLO with fuzzed bytes and then half-closes.
 * The reply is a few pieces: a valid HELLO, a HELLO with a fuzzed JSON or raw payload, an ERROR
 * (the server's refusal), any other frame, a header with fuzzed fields, or raw bytes.
 *
 * <p>Properties: {@link Connection#open} either returns an open connection, whose in-flight limit
 * is within the client's, or throws a {@link TidewireException}; within 5 s either way. An opened
 * connection closes by itself once the server's bytes end, with a {@link TidewireException} as its
 * reason. No failure has anything in its cause chain but Tidewire's typed exceptions and I/O
 * errors: an index, null pointer or state error anywhere is a finding.
 *
 * <p>A normal test run replays only the seed inputs (regression mode). To fuzz, see
 * docs/security.md section 4.
 */
class HelloExchangeFuzzTest {
    private static final ConnectionOptions OPTIONS = ConnectionOptions.builder()
            .connectTimeout(Duration.ofSeconds(2)).maxInFlight(64).build();
    private static TransportResources resources;
    private static ServerSocket listener;
    private static ExecutorService opener;

    @BeforeAll
    static void start() throws IOException {
        resources = TransportResources.create();
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listener.setSoTimeout(5000);
        opener = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void stop() throws IOException {
        opener.shutdownNow();
        listener.close();
        resources.close();
    }

    @FuzzTest(maxDuration = "30s")
    void clientHandshakeEndsInAConnectionOrATypedFailure(FuzzedDataProvider data) throws Exception {
        byte[] reply = reply(data);
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        // Jazzer's SSRF detector flags every connect; this one goes to the test's own loopback listener
        try (SilentCloseable loopbackOnly = BugDetectors.allowNetworkConnections(
                (host, port) -> port == listener.getLocalPort())) {
            CompletableFuture<Connection> opening =
                    CompletableFuture.supplyAsync(() -> Connection.open(address, OPTIONS, resources), opener);
            try (Socket server = listener.accept()) {
                try {
                    server.getOutputStream().write(reply);
                    server.shutdownOutput();
                } catch (IOException e) {
                    // the client gave up first (e.g. on a bad first piece) and reset: checked below
                }
                check(opening);
            }
        }
    }

    private static void check(CompletableFuture<Connection> opening) throws InterruptedException {
        Connection c;
        try {
            c = opening.get(5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("Connection.open neither returned nor failed within 5 s (connect timeout 2 s)");
            return;
        } catch (ExecutionException e) {
            assertTyped(e.getCause());
            return;
        }
        try {
            assertTrue(c.maxInFlight() >= 1 && c.maxInFlight() <= OPTIONS.maxInFlight(),
                    "in-flight limit " + c.maxInFlight());
            try {
                c.closeFuture().get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                fail("the connection stayed " + c.state() + " for 5 s after the server's FIN");
            } catch (ExecutionException e) {
                assertTyped(e.getCause());
            }
            assertNotNull(c.closeReason(), "a connection closed by its peer has a reason");
            assertTyped(c.closeReason());
        } finally {
            c.close();
        }
    }

    /** {@code e} is a Tidewire exception, and so is every cause in its chain, but for I/O errors. */
    private static void assertTyped(Throwable e) {
        assertTrue(e instanceof TidewireException, () -> "untyped failure: " + stackTrace(e));
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            Throwable cause = t;
            assertTrue(t instanceof TidewireException || t instanceof IOException,
                    () -> "untyped cause " + cause.getClass().getName() + " in: " + stackTrace(e));
        }
    }

    private static String stackTrace(Throwable e) {
        java.io.StringWriter out = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }

    /** The server's side of the exchange: up to 6 pieces, usually starting with a HELLO. */
    private static byte[] reply(FuzzedDataProvider data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int piece = 0; piece < 6 && data.remainingBytes() > 0; piece++) {
            switch (data.consumeInt(0, 6)) {
                case 0, 1 -> out.writeBytes(FrameEncoder.encode(new Frame(FrameType.HELLO, data.consumeLong(0, 2),
                        FuzzHello.payload(data, data.consumeBoolean()))));
                case 2 -> out.writeBytes(FrameEncoder.encode(new Frame(FrameType.ERROR, data.consumeLong(0, 2),
                        data.consumeBoolean() ? new ErrorPayload(data.consumeInt(0, 20), data.consumeString(64)).encode()
                                : data.consumeBytes(data.consumeInt(0, 128)))));
                case 3 -> out.writeBytes(FrameEncoder.encode(new Frame(data.pickValue(FrameType.values()),
                        data.consumeLong(-1, 4), data.consumeBytes(data.consumeInt(0, 128)))));
                case 4 -> {
                    ByteBuffer header = ByteBuffer.allocate(Protocol.HEADER_LENGTH);
                    header.putShort((short) Protocol.MAGIC)
                            .put(data.consumeBoolean() ? (byte) Protocol.VERSION : data.consumeByte())
                            .put(data.consumeByte()).putLong(data.consumeLong(-1, 4));
                    byte[] payload = data.consumeBytes(data.consumeInt(0, 256));
                    header.putInt(data.consumeBoolean() ? payload.length : data.consumeInt());
                    out.writeBytes(header.array());
                    out.writeBytes(payload);
                }
                default -> out.writeBytes(data.consumeBytes(data.consumeInt(0, 32)));
            }
        }
        return out.toByteArray();
    }
}
