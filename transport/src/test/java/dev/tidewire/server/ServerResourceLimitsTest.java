package dev.tidewire.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.RawClient;
import dev.tidewire.testing.TestCertificates;
import dev.tidewire.transport.TlsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Netty server's resource bounds: the outbound budget of a client that never reads, the
 * per-address connection limit, the in-flight request-byte budget, a prompt close() with a stuck
 * TLS client, and the number of threads serving many connections.
 */
class ServerResourceLimitsTest {
    private TidewireServer server;
    private final List<Socket> sockets = new ArrayList<>();

    @TempDir
    static Path dir;
    private static TestCertificates certs;

    private static synchronized TestCertificates certs() {
        if (certs == null) {
            certs = TestCertificates.generate(dir);
        }
        return certs;
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private TidewireServer start(TidewireServer.Builder b) {
        server = b.build().start();
        return server;
    }

    private static byte[] encode(Frame f) {
        return FrameEncoder.encode(f);
    }

    private static byte[] hello() {
        return encode(new Frame(FrameType.HELLO, 0,
                new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "test", Map.of()).encode()));
    }

    private static Frame request(long id, String op, byte[] body) {
        return new Frame(FrameType.REQUEST, id, RequestPayload.encode(op, body));
    }

    private static byte[] jsonString(int bytes) {
        byte[] b = new byte[bytes];
        Arrays.fill(b, (byte) 'x');
        b[0] = '"';
        b[bytes - 1] = '"';
        return b;
    }

    private static ErrorPayload error(Frame f) {
        assertNotNull(f, "expected a frame, the server closed");
        assertEquals(FrameType.ERROR, f.type(), f.toString());
        return ErrorPayload.decode(f.payload());
    }

    /** Writes {@code count} echo requests of {@code bodyBytes} each and never reads; stops when the socket closes. */
    private static Thread flood(OutputStream out, int count, int bodyBytes) {
        byte[] body = jsonString(bodyBytes);
        Thread t = new Thread(() -> {
            try {
                for (int i = 1; i <= count; i++) {
                    out.write(encode(request(i, "echo", body)));
                }
                out.flush();
            } catch (IOException closed) {
                // the test closed the socket, or the server did
            }
        }, "test-flood");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void aClientThatNeverReadsIsHeldToTheOutboundBudgetAndOthersAreStillServed() throws Exception {
        int budget = 256 * 1024;
        int body = 64 * 1024;
        start(TidewireServer.builder().ioThreads(1).outboundBufferBytes(budget)); // one loop: both clients share it
        Socket slow = new Socket();
        sockets.add(slow);
        slow.setReceiveBufferSize(4096);
        slow.connect(server.address(), 2000);
        slow.getOutputStream().write(hello());
        Thread flooder = flood(slow.getOutputStream(), 400, body); // 25 MiB of replies asked for, none read
        await().atMost(Duration.ofSeconds(10)).until(() -> server.queuedReplyBytes() >= budget / 2);

        try (RawClient fast = new RawClient(server.address())) {
            fast.hello();
            long worst = 0;
            for (int i = 1; i <= 100; i++) {
                byte[] payload = ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8);
                long t0 = System.nanoTime();
                fast.send(request(i, "echo", payload));
                Frame reply = fast.next();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                worst = Math.max(worst, ms);
                assertNotNull(reply);
                assertEquals(FrameType.RESPONSE, reply.type());
                assertEquals(i, reply.requestId());
                assertTrue(ms < 1000, "echo " + i + " took " + ms + " ms");
            }
            long max = server.maxQueuedReplyBytes();
            long now = server.queuedReplyBytes();
            System.out.printf("outbound budget %d B: most queued on one connection %d B, queued now %d B,"
                    + " worst echo of the other client %d ms%n", budget, max, now, worst);
            // the reply that crosses the budget, and the rest of the read in hand, may still be queued
            long slack = 4L * (body + 64);
            assertTrue(max <= budget + slack, "queued " + max + " B on one connection, budget " + budget);
            assertTrue(now <= budget + slack, "queued " + now + " B now, budget " + budget);
            assertTrue(flooder.isAlive(), "the flooding client is blocked: the server stopped reading it");
            assertEquals(2, server.stats().connectionsOpen(), "stalled, not closed (writeStallTimeout 30 s)");
        }
        slow.close();
        flooder.join(5000);
    }

    @Test
    void aWriteStalledConnectionIsClosedAfterTheStallTimeout() throws Exception {
        start(TidewireServer.builder().outboundBufferBytes(64 * 1024).writeStallTimeout(Duration.ofMillis(500)));
        Socket slow = new Socket();
        sockets.add(slow);
        slow.setReceiveBufferSize(4096);
        slow.connect(server.address(), 2000);
        slow.getOutputStream().write(hello());
        Thread flooder = flood(slow.getOutputStream(), 400, 64 * 1024);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().connectionsOpen() == 0);
        slow.close();
        flooder.join(5000);
    }

    /** Connects from {@code local} (any port) and returns the first frame the server sends after our HELLO. */
    private Frame connectFrom(InetAddress local) throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.bind(new InetSocketAddress(local, 0));
        s.connect(server.address(), 2000);
        s.setSoTimeout(5000);
        s.getOutputStream().write(hello());
        return readFrame(s.getInputStream());
    }

    private static Frame readFrame(InputStream in) throws IOException {
        FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        Deque<Frame> got = new ArrayDeque<>();
        byte[] buf = new byte[8192];
        for (int i = 0; i < 1000 && got.isEmpty(); i++) {
            int n;
            try {
                n = in.read(buf);
            } catch (java.net.SocketException reset) {
                return null;
            }
            if (n < 0) {
                return null;
            }
            decoder.decode(ByteBuffer.wrap(buf, 0, n), got::add);
        }
        return got.poll();
    }

    @Test
    void connectionsOverThePerAddressLimitAreRefusedWhileOtherAddressesAreServed() throws Exception {
        start(TidewireServer.builder().maxConnectionsPerAddress(2));
        InetAddress local1 = InetAddress.getByName("127.0.0.1");
        InetAddress local2 = InetAddress.getByName("127.0.0.2");
        assertEquals(FrameType.HELLO, connectFrom(local1).type());
        assertEquals(FrameType.HELLO, connectFrom(local1).type());
        Frame refused = connectFrom(local1);
        ErrorPayload e = error(refused);
        assertEquals(0, refused.requestId());
        assertEquals(ErrorCode.OVERLOADED, e.code());
        assertTrue(e.message().contains("127.0.0.1"), e.message());
        assertEquals(null, readFrame(sockets.get(2).getInputStream()), "closed after the ERROR");
        assertEquals(FrameType.HELLO, connectFrom(local2).type(), "another source address is admitted");
        assertEquals(3, server.stats().connectionsOpen());
        // a slot freed by a close is available again
        sockets.get(0).close();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().connectionsOpen() == 2);
        assertEquals(FrameType.HELLO, connectFrom(local1).type());
    }

    @Test
    void requestsBeyondTheInFlightByteBudgetAreOverloadedUntilRepliesReleaseIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        start(TidewireServer.builder().maxInFlightRequestBytes(100_000)
                .blockingHandler("hold", req -> {
                    release.await(10, TimeUnit.SECONDS);
                    return "{}".getBytes(StandardCharsets.UTF_8);
                }));
        byte[] body = jsonString(40_000);
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            c.send(request(1, "hold", body));
            c.send(request(2, "hold", body));
            c.send(request(3, "hold", body));
            Frame third = c.next();
            assertEquals(3, third.requestId(), "the third is refused at once: " + third);
            assertEquals(ErrorCode.OVERLOADED, error(third).code());
            assertTrue(server.inFlightRequestBytes() >= 80_000, "" + server.inFlightRequestBytes());
            assertEquals(1, server.stats().rejectedOverloaded());
            release.countDown();
            assertEquals(FrameType.RESPONSE, c.next().type());
            assertEquals(FrameType.RESPONSE, c.next().type());
            await().atMost(Duration.ofSeconds(2)).until(() -> server.inFlightRequestBytes() == 0);
            c.send(request(4, "hold", body));
            c.send(request(5, "hold", body));
            Frame f4 = c.next();
            Frame f5 = c.next();
            assertEquals(FrameType.RESPONSE, f4.type(), f4.toString());
            assertEquals(FrameType.RESPONSE, f5.type(), f5.toString());
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> server.inFlightRequestBytes() == 0);
    }

    @Test
    void closeIsPromptAndLeavesNoThreadWhenATlsClientStopsReading() throws Exception {
        TestCertificates certs = certs();
        start(TidewireServer.builder().outboundBufferBytes(64 * 1024)
                .tls(TlsConfig.builder().keyStore(certs.server(), certs.password()).build(), false));
        TlsConfig trust = TlsConfig.builder().trustStore(certs.caTrustStore(), certs.password()).build();
        SSLSocket s = (SSLSocket) trust.sslContext().getSocketFactory().createSocket();
        sockets.add(s);
        s.setReceiveBufferSize(4096);
        s.connect(server.address(), 2000);
        s.setSoTimeout(5000);
        s.startHandshake();
        s.getOutputStream().write(hello());
        Thread flooder = flood(s.getOutputStream(), 300, 64 * 1024);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.queuedReplyBytes() >= 32 * 1024);
        long t0 = System.nanoTime();
        server.close();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("close() with a stuck TLS client took " + ms + " ms");
        assertTrue(ms < 3000, "close() took " + ms + " ms");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertEquals(List.of(), Leaks.tidewireThreads()));
        s.close();
        flooder.join(5000);
    }

    @Test
    void aTlsHandshakeThatNeverStartsIsDroppedAtTheHelloTimeoutAndCounted() throws Exception {
        start(TidewireServer.builder().helloTimeout(Duration.ofMillis(500))
                .tls(TlsConfig.builder().keyStore(certs().server(), certs().password()).build(), false));
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            s.setSoTimeout(5000);
            long t0 = System.nanoTime();
            int read;
            try {
                read = s.getInputStream().read(); // no ClientHello: the server must not wait forever
            } catch (java.net.SocketException reset) {
                read = -1;
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(-1, read);
            assertTrue(ms >= 400 && ms < 2000, "dropped after " + ms + " ms (helloTimeout 500 ms)");
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().tlsHandshakeFailures() == 1);
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().connectionsOpen() == 0);
    }

    @Test
    void aFrameThatNeverFinishesIsDroppedAtTheFrameTimeout() throws Exception {
        start(TidewireServer.builder().frameTimeout(Duration.ofMillis(500)));
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            byte[] frame = encode(request(1, "echo", "{}".getBytes(StandardCharsets.UTF_8)));
            long t0 = System.nanoTime();
            c.sendRaw(Arrays.copyOf(frame, frame.length - 1)); // all but the last byte, ever
            assertEquals(null, c.next(), "closed without a reply");
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 400 && ms < 2000, "dropped after " + ms + " ms (frameTimeout 500 ms)");
        }
        assertEquals(0, server.stats().protocolErrors());
    }

    @Test
    void aBlockingAuthenticatorDelaysOnlyItsOwnConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        start(TidewireServer.builder().ioThreads(1).handlerThreads(2).authenticator((credentials, remote) -> {
            if (credentials.containsKey("block")) {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return true;
        }));
        Socket blocked = new Socket();
        sockets.add(blocked);
        blocked.connect(server.address(), 2000);
        blocked.setSoTimeout(5000);
        // HELLO and a request right behind it: the request waits for the authenticator's answer
        blocked.getOutputStream().write(encode(new Frame(FrameType.HELLO, 0,
                new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "test", Map.of("block", "1")).encode())));
        blocked.getOutputStream().write(encode(request(1, "echo", "{\"after\":\"hello\"}".getBytes(StandardCharsets.UTF_8))));
        try (RawClient other = new RawClient(server.address())) {
            other.hello(); // same event loop, served while the first connection's authenticator blocks
            other.send(request(1, "echo", "{}".getBytes(StandardCharsets.UTF_8)));
            assertEquals(FrameType.RESPONSE, other.next().type());
        }
        release.countDown();
        FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        List<Frame> got = new ArrayList<>();
        byte[] buf = new byte[8192];
        InputStream in = blocked.getInputStream();
        for (int i = 0; i < 100 && got.size() < 2; i++) {
            int n = in.read(buf);
            assertTrue(n > 0, "the server closed");
            decoder.decode(ByteBuffer.wrap(buf, 0, n), got::add);
        }
        assertEquals(List.of(FrameType.HELLO, FrameType.RESPONSE), got.stream().map(Frame::type).toList());
        assertEquals("{\"after\":\"hello\"}", new String(got.get(1).payload(), StandardCharsets.UTF_8));
    }

    @Test
    void repliesOfOneReadShareOneFlush() throws Exception {
        start(TidewireServer.builder());
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            await().atMost(Duration.ofSeconds(2)).until(() -> server.flushes() >= 1);
            long before = server.flushes();
            java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
            for (int i = 1; i <= 50; i++) {
                batch.writeBytes(encode(request(i, "echo", ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8))));
            }
            c.sendRaw(batch.toByteArray()); // about 1.5 KB in one write: one read on loopback
            for (int i = 1; i <= 50; i++) {
                assertEquals(i, c.next().requestId());
            }
            long flushes = server.flushes() - before;
            System.out.println("50 inline replies to one write: " + flushes + " flush(es)");
            assertTrue(flushes <= 3, flushes + " flushes for 50 replies read together");
        }
    }

    @Test
    void repliesFromHandlerThreadsAreWrittenByTheLoopInBatches() throws Exception {
        int n = 20;
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<TidewireServer> self = new java.util.concurrent.atomic.AtomicReference<>();
        start(TidewireServer.builder().ioThreads(1).handlerThreads(n)
                .blockingHandler("wait", req -> {
                    release.await(10, TimeUnit.SECONDS);
                    return req.body();
                })
                // runs on the loop: lets the blocking handlers finish while the loop is busy here,
                // so their replies queue up and must go out as one batch
                .handler("release", req -> {
                    release.countDown();
                    java.util.concurrent.ThreadPoolExecutor pool =
                            (java.util.concurrent.ThreadPoolExecutor) self.get().handlerPool();
                    await().atMost(Duration.ofSeconds(5)).until(() -> pool.getCompletedTaskCount() >= n);
                    return java.util.concurrent.CompletableFuture.completedFuture(req.body());
                }));
        self.set(server);
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            for (int i = 1; i <= n; i++) {
                c.send(request(i, "wait", "{}".getBytes(StandardCharsets.UTF_8)));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().requests() == n);
            long before = server.flushes();
            c.send(request(n + 1, "release", "{}".getBytes(StandardCharsets.UTF_8)));
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i <= n; i++) {
                ids.add(c.next().requestId());
            }
            assertEquals(n + 1, ids.get(0), "the loop's own reply first: " + ids);
            long flushes = server.flushes() - before;
            System.out.println(n + " replies from handler threads and 1 from the loop: " + flushes + " flush(es)");
            assertTrue(flushes <= 3, flushes + " flushes");
        }
    }

    @Test
    void manyConnectionsAreServedByAFewThreads() throws Exception {
        int ioThreads = 2;
        start(TidewireServer.builder().ioThreads(ioThreads));
        byte[] hello = hello();
        for (int i = 0; i < 512; i++) {
            Socket s = new Socket();
            sockets.add(s);
            s.connect(server.address(), 2000);
            s.getOutputStream().write(hello);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> server.stats().connectionsOpen() == 512);
        // every connection is served: a PING on the last one is answered
        Socket last = sockets.get(sockets.size() - 1);
        last.setSoTimeout(5000);
        last.getOutputStream().write(encode(Frame.of(FrameType.PING, 7)));
        InputStream in = last.getInputStream();
        FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        List<Frame> got = new ArrayList<>();
        byte[] buf = new byte[8192];
        for (int i = 0; i < 100 && got.stream().noneMatch(f -> f.type() == FrameType.PONG); i++) {
            int n = in.read(buf);
            assertTrue(n > 0, "the server closed");
            decoder.decode(ByteBuffer.wrap(buf, 0, n), got::add);
        }
        assertEquals(List.of(FrameType.HELLO, FrameType.PONG), got.stream().map(Frame::type).toList());
        List<String> threads = Leaks.tidewireThreads().stream().filter(n -> n.startsWith("tidewire-server-")).toList();
        System.out.println("512 connections, server threads: " + threads);
        assertTrue(threads.size() <= ioThreads + 1 + 2, "server threads: " + threads);
    }
}
