package dev.tidewire.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tidewire.ProtocolException;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.testing.FuzzHello;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of the reference server's request path with Jazzer: handshake, frame
 * decoding, request decoding, routing, JSON parsing under {@code JsonLimits}, handler errors,
 * CANCEL and PING handling, all through a real loopback connection to one server.
 *
 * <p>Each input becomes a byte stream: usually a valid HELLO (so the fuzzer need not rediscover
 * the handshake; with a fuzzed limit, and credentials the server refuses if the token is "deny"),
 * or a HELLO with a fuzzed payload ({@link FuzzHello}: the server's HELLO checks), or none; then up
 * to 16 pieces, each a well-formed REQUEST to one of the server's ops with a
 * fuzzed body, a header with fuzzed fields, a CANCEL or PING with a fuzzed id, or raw bytes. The
 * client half-closes, reads everything the server sends until it closes, and checks:
 * <ul>
 *   <li>the server's bytes decode as whole frames: it never writes garbage or a cut frame;</li>
 *   <li>every RESPONSE or ERROR answers a request id this input sent (or is a connection-level
 *       ERROR with id 0), and no request id is answered more often than it was sent;</li>
 *   <li>the server closes the connection within 5 s of the client's half-close (no hang);</li>
 *   <li>the server counted no internal error (an exception other than a typed rejection).</li>
 * </ul>
 *
 * <p>A normal test run replays only the seed inputs (regression mode). To fuzz,
 * see docs/security.md section 4.
 */
class ServerRequestPathFuzzTest {
    private static final int MAX_FRAME = 8 * 1024;
    private static final String[] OPS = {"echo", "fail", "json", "missing", ""};
    private static TidewireServer server;

    @BeforeAll
    static void start() {
        server = TidewireServer.builder()
                .maxFrameSize(MAX_FRAME)
                .maxInFlightPerConnection(8)
                .helloTimeout(Duration.ofSeconds(2))
                .authenticator((credentials, remote) -> !"deny".equals(credentials.get("token")))
                .handler("echo", BuiltinHandlers.echo())
                .handler("fail", BuiltinHandlers.fail())
                .handler("json", request -> java.util.concurrent.CompletableFuture.completedFuture(
                        request.toJson(request.json())))
                .build()
                .start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anyByteStreamGetsWellFormedAnswersAndNoServerError(FuzzedDataProvider data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        switch (data.consumeInt(0, 3)) {
            case 0 -> { } // no HELLO: the first frame must be refused
            case 1 -> out.writeBytes(FrameEncoder.encode(new Frame(FrameType.HELLO, 0, FuzzHello.payload(data, false))));
            default -> out.writeBytes(FrameEncoder.encode(new Frame(FrameType.HELLO, 0,
                    new Hello(Protocol.VERSION, data.consumeInt(0, 2 * MAX_FRAME), data.consumeInt(0, 64), "fuzz",
                            data.consumeBoolean() ? Map.of() : Map.of("token", data.consumeString(8))).encode())));
        }
        for (int piece = 0; piece < 16 && data.remainingBytes() > 0; piece++) {
            switch (data.consumeInt(0, 3)) {
                case 0 -> {
                    long id = data.consumeLong(0, 64);
                    String op = OPS[data.consumeInt(0, OPS.length - 1)];
                    byte[] body = data.consumeBoolean()
                            ? data.consumeString(data.consumeInt(0, 512)).getBytes(StandardCharsets.UTF_8)
                            : data.consumeBytes(data.consumeInt(0, 512));
                    if (data.consumeBoolean()) {
                        out.writeBytes(FrameEncoder.encode(new Frame(FrameType.REQUEST, id, requestPayload(op, body))));
                    } else {
                        // REQUEST_EXT: a timeout (short ones expire in the server), then a metadata block
                        // that is well formed or fuzzed bytes under a true or fuzzed length
                        byte[] entries = data.consumeBoolean() ? metadataEntries(data) : data.consumeBytes(data.consumeInt(0, 64));
                        int declared = data.consumeBoolean() ? entries.length : data.consumeInt(0, 0xFFFF);
                        byte[] prefix = requestPayload(op, new byte[0]);
                        byte[] payload = ByteBuffer.allocate(prefix.length + 6 + entries.length + body.length).put(prefix)
                                .putInt(data.consumeInt(0, 50)).putShort((short) declared).put(entries).put(body).array();
                        out.writeBytes(FrameEncoder.encode(new Frame(FrameType.REQUEST_EXT, id, payload)));
                    }
                }
                case 1 -> {
                    ByteBuffer header = ByteBuffer.allocate(Protocol.HEADER_LENGTH);
                    header.putShort((short) Protocol.MAGIC).put((byte) (data.consumeBoolean() ? Protocol.VERSION
                            : data.consumeByte())).put(data.consumeByte()).putLong(data.consumeLong(-1, 64));
                    byte[] payload = data.consumeBytes(data.consumeInt(0, 512));
                    header.putInt(data.consumeBoolean() ? payload.length : data.consumeInt());
                    out.writeBytes(header.array());
                    out.writeBytes(payload);
                }
                case 2 -> out.writeBytes(FrameEncoder.encode(Frame.of(data.consumeBoolean() ? FrameType.CANCEL
                        : FrameType.PING, data.consumeLong(0, 64))));
                default -> out.writeBytes(data.consumeBytes(data.consumeInt(0, 64)));
            }
        }
        // Jazzer's SSRF detector flags every connect; this one goes to the test's own loopback server
        try (SilentCloseable loopbackOnly = BugDetectors.allowNetworkConnections(
                (host, port) -> port == server.port() && (host.equals("localhost") || host.equals("127.0.0.1")))) {
            byte[] bytes = out.toByteArray();
            exchange(bytes, requestIds(bytes));
        }
        assertEquals(0, server.stats().internalErrors(), "the server hit an internal error (see its log)");
    }

    /**
     * How often each REQUEST id occurs in {@code bytes}, read as the server reads them: pieces with
     * fuzzed lengths and raw bytes shift the framing, so only decoding tells which REQUESTs the
     * server can see. Decoded with a limit no lower than the server's before and after HELLO, so the
     * count covers the server's (and no fuzzed length makes this test allocate more than 64 KiB).
     */
    private static Map<Long, Integer> requestIds(byte[] bytes) {
        Map<Long, Integer> ids = new HashMap<>();
        try {
            new FrameDecoder(Math.max(MAX_FRAME, Protocol.HANDSHAKE_MAX_FRAME_SIZE)).decode(ByteBuffer.wrap(bytes), f -> {
                if (f.type() == FrameType.REQUEST || f.type() == FrameType.REQUEST_EXT) {
                    ids.merge(f.requestId(), 1, Integer::sum);
                }
            });
        } catch (ProtocolException e) {
            // the server stops reading here too
        }
        return ids;
    }

    /** Well-formed metadata entries (protocol.md 4.6) with fuzzed keys and values, some of them invalid. */
    private static byte[] metadataEntries(FuzzedDataProvider data) {
        ByteArrayOutputStream entries = new ByteArrayOutputStream();
        for (int i = data.consumeInt(0, 4); i > 0; i--) {
            byte[] key = data.consumeBoolean() ? "traceparent".getBytes(StandardCharsets.US_ASCII) : data.consumeBytes(data.consumeInt(1, 12));
            byte[] value = data.consumeBytes(data.consumeInt(0, 40));
            entries.write(key.length);
            entries.writeBytes(key);
            entries.write(value.length >> 8);
            entries.write(value.length);
            entries.writeBytes(value);
        }
        return entries.toByteArray();
    }

    /** A REQUEST payload as docs/protocol.md lays it out, by hand: the empty op is not refused here. */
    private static byte[] requestPayload(String op, byte[] body) {
        byte[] name = op.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + name.length + body.length).put((byte) name.length).put(name).put(body).array();
    }

    /** Sends {@code bytes}, half-closes, and checks every frame the server sends until it closes. */
    private static void exchange(byte[] bytes, Map<Long, Integer> sent) throws IOException {
        try (Socket socket = new Socket(server.address().getAddress(), server.port())) {
            socket.setSoTimeout(5000);
            try {
                socket.getOutputStream().write(bytes);
                socket.shutdownOutput();
            } catch (IOException e) {
                return; // the server closed first (it rejected the HELLO or a frame) and reset: nothing to read
            }
            FrameDecoder decoder = new FrameDecoder(1 << 20); // replies here are small; a larger one is a server bug
            Map<Long, Integer> answered = new HashMap<>();
            InputStream in = socket.getInputStream();
            byte[] buf = new byte[16 * 1024];
            for (int reads = 0; reads < 100_000; reads++) {
                int n;
                try {
                    n = in.read(buf);
                } catch (SocketTimeoutException e) {
                    fail("the server neither answered nor closed within 5 s of the client's half-close");
                    return;
                } catch (IOException e) {
                    return; // reset after a rejection: the frames before it were checked
                }
                if (n < 0) {
                    assertTrue(decoder.isIdle(), "the server closed in the middle of a frame");
                    return;
                }
                try {
                    decoder.decode(ByteBuffer.wrap(buf, 0, n), f -> {
                        if (f.type() != FrameType.RESPONSE && f.type() != FrameType.ERROR) {
                            return;
                        }
                        if (f.type() == FrameType.ERROR && f.requestId() == 0) {
                            return; // connection-level error
                        }
                        int times = answered.merge(f.requestId(), 1, Integer::sum);
                        assertTrue(times <= sent.getOrDefault(f.requestId(), 0),
                                "request id " + f.requestId() + " answered " + times + " times, sent "
                                        + sent.getOrDefault(f.requestId(), 0));
                    });
                } catch (ProtocolException e) {
                    fail("the server sent bytes that are not a frame: " + e.getMessage());
                }
            }
            fail("the server kept sending for 100,000 reads");
        }
    }
}
