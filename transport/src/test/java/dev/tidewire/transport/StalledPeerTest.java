package dev.tidewire.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.StalledPeer;
import dev.tidewire.testing.TestCertificates;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer that stops reading. With the blocking-socket transport these hung callers in
 * {@code write()}, the shared timer in {@code SSLSocket.close()} (so every other connection lost
 * its deadlines), and a close for 10 s. On the event loops a caller only queues, the loop never
 * blocks, and the outbound budget bounds what is held.
 */
class StalledPeerTest {
    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    /** Defaults and the README's 2 s timeout... shortened to 200 ms to show each call ends on time. */
    @Test
    void callersReturnAtOnceAndEveryCallEndsByItsDeadlineWithTheBudgetHeld() throws Exception {
        try (StalledPeer peer = new StalledPeer(null, 0);
             TransportResources resources = TransportResources.create();
             Connection c = Connection.open(peer.address(), ConnectionOptions.defaults(), resources)) {
            MultiplexedConnection mc = (MultiplexedConnection) c;
            byte[] body = json(MIB);
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            long[] took = new long[32];
            long begin = System.nanoTime();
            for (int i = 0; i < 32; i++) {
                int n = i;
                long start = System.nanoTime();
                CompletableFuture<byte[]> call = c.call("echo", body, Deadline.after(Duration.ofMillis(200)), null);
                call.whenComplete((v, e) -> took[n] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                calls.add(call);
            }
            long submitMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin);
            assertTrue(submitMs < 200, "32 calls of 1 MiB were handed over in " + submitMs + " ms: no caller writes");
            AtomicLong mostQueued = new AtomicLong();
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(5)).until(() -> {
                mostQueued.accumulateAndGet(mc.queuedBytes(), Math::max);
                return calls.stream().allMatch(CompletableFuture::isDone);
            });
            for (int i = 0; i < calls.size(); i++) {
                RequestTimeoutException e = assertInstanceOf(RequestTimeoutException.class, failure(calls.get(i)));
                assertTrue(took[i] <= 200 + 150, "call " + i + " ended after " + took[i] + " ms (deadline 200 ms): " + e);
            }
            long budget = ConnectionOptions.DEFAULT_OUTBOUND_BUDGET;
            assertTrue(mostQueued.get() <= budget + MIB + 64,
                    "at most the budget plus one frame queued, saw " + mostQueued.get() + " bytes");
            assertEquals(0, mc.pendingCount(), "nothing left registered");
            long closeStart = System.nanoTime();
            c.close();
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart) < 1000, "close did not wait for the peer");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Leaks.clientThreads().isEmpty());
    }

    @Test
    void aTlsPeerThatStopsReadingDelaysNoOtherConnectionAndClosesAtOnce() throws Exception {
        TestCertificates certs = TestCertificates.generate(dir);
        TlsConfig serverTls = TlsConfig.builder().keyStore(certs.server(), certs.password()).build();
        TlsConfig clientTls = TlsConfig.builder().trustStore(certs.caTrustStore(), certs.password()).build();
        TidewireServer healthy = TidewireServer.builder().tls(serverTls, false).build().start();
        try (StalledPeer peer = new StalledPeer(serverTls.sslContext(), 0)) {
            TransportResources resources = TransportResources.builder().ioThreads(1).build(); // one loop for both
            ConnectionOptions options = ConnectionOptions.builder().tls(clientTls).build();
            Connection stalled = Connection.open(peer.address(), options, resources);
            Connection other = Connection.open(healthy.address(), options, resources);
            byte[] body = json(MIB);
            List<CompletableFuture<byte[]>> stuck = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                stuck.add(stalled.call("echo", body, Deadline.after(Duration.ofSeconds(30)), null));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> !stalled.isWritable());
            for (int i = 0; i < 10; i++) {
                long start = System.nanoTime();
                CompletableFuture<byte[]> sleep = other.call("sleep", "{\"millis\":2000}".getBytes(StandardCharsets.UTF_8),
                        Deadline.after(Duration.ofMillis(300)), null);
                Throwable e = failure(sleep);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertInstanceOf(RequestTimeoutException.class, e);
                assertTrue(ms >= 290 && ms <= 450, "the healthy connection's 300 ms call ended after " + ms + " ms");
                byte[] reply = other.call("echo", json(10), Deadline.after(Duration.ofSeconds(2)), null)
                        .get(3, TimeUnit.SECONDS);
                assertEquals(new String(json(10), StandardCharsets.UTF_8), new String(reply, StandardCharsets.UTF_8));
            }
            long closeStart = System.nanoTime();
            stalled.close();
            other.close();
            resources.close();
            long closeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
            assertTrue(closeMs < 3000, "closing took " + closeMs + " ms");
            assertTrue(stuck.stream().allMatch(CompletableFuture::isDone), "every stuck call ended at the close");
            await().atMost(Duration.ofSeconds(5)).until(() -> Leaks.clientThreads().isEmpty());
        } finally {
            healthy.close();
        }
    }

    @Test
    void aPeerThatStopsReadingButStillSendsIsFailedAfterTheWriteStallTimeout() throws Exception {
        try (StalledPeer peer = new StalledPeer(null, 200);
             TransportResources resources = TransportResources.create()) {
            ConnectionOptions options = ConnectionOptions.builder().writeStallTimeout(Duration.ofSeconds(1)).build();
            Connection c = Connection.open(peer.address(), options, resources);
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                calls.add(c.call("echo", json(MIB), Deadline.after(Duration.ofSeconds(30)), null));
            }
            long start = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> c.state() == Connection.State.CLOSED);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(ConnectionLostException.class, c.closeReason());
            assertTrue(c.closeReason().getMessage().contains("no write progress"), c.closeReason().getMessage());
            assertTrue(ms < 3000, "stall detected after " + ms + " ms with a 1 s stall timeout, PINGs arriving");
            await().atMost(Duration.ofSeconds(2)).until(() -> calls.stream().allMatch(CompletableFuture::isDone));
            for (CompletableFuture<byte[]> call : calls) {
                assertInstanceOf(dev.tidewire.TidewireException.class, failure(call));
            }
        }
    }

    /** The same with default options: the write stall timeout of 10 s fails the connection. */
    @Test
    void withDefaultsAPeerThatStopsReadingButStillSendsIsFailedAfterTenSeconds() throws Exception {
        try (StalledPeer peer = new StalledPeer(null, 500);
             TransportResources resources = TransportResources.create()) {
            Connection c = Connection.open(peer.address(), ConnectionOptions.defaults(), resources);
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                calls.add(c.call("echo", json(MIB), Deadline.after(Duration.ofSeconds(60)), null));
            }
            long start = System.nanoTime();
            await().atMost(Duration.ofSeconds(20)).until(() -> c.state() == Connection.State.CLOSED);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(c.closeReason().getMessage().contains("no write progress"), c.closeReason().getMessage());
            long stall = ConnectionOptions.DEFAULT_WRITE_STALL_TIMEOUT.toMillis();
            assertTrue(ms >= stall - 500 && ms <= stall + 3000, "stall detected after " + ms + " ms (default " + stall + " ms)");
            await().atMost(Duration.ofSeconds(2)).until(() -> calls.stream().allMatch(CompletableFuture::isDone));
        }
    }

    @Test
    void thirtyTwoMebibyteFramesBothWaysWithTwoSlotsDoNotDeadlock() throws Exception {
        int size = 32 * MIB;
        TidewireServer server = TidewireServer.builder().maxFrameSize(64 * MIB).build().start();
        try (TransportResources resources = TransportResources.create();
             Connection c = Connection.open(server.address(),
                     ConnectionOptions.builder().maxFrameSize(64 * MIB).maxInFlight(2).build(), resources)) {
            List<byte[]> bodies = new ArrayList<>();
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                byte[] body = json(size);
                body[1 + i] = (byte) ('a' + i);
                bodies.add(body);
                calls.add(c.call("echo", body, Deadline.after(Duration.ofSeconds(60)), null));
            }
            for (int i = 0; i < calls.size(); i++) {
                byte[] reply = calls.get(i).get(90, TimeUnit.SECONDS);
                assertTrue(Arrays.equals(bodies.get(i), reply), "reply " + i + " is its own request's body");
            }
            assertEquals(Connection.State.OPEN, c.state());
        } finally {
            server.close();
        }
    }

    @Test
    void fiveHundredTwelveConnectionsRunOnTheEventLoopsAlone() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        int before = Leaks.clientThreads().size();
        List<Connection> connections = new ArrayList<>();
        try (TransportResources resources = TransportResources.builder().ioThreads(2).callbackThreads(2).build()) {
            for (int i = 0; i < 512; i++) {
                connections.add(Connection.open(server.address(), ConnectionOptions.defaults(), resources));
            }
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (Connection c : connections) {
                calls.add(c.call("echo", json(16), Duration.ofSeconds(10)));
            }
            for (CompletableFuture<byte[]> call : calls) {
                assertEquals(16, call.get(20, TimeUnit.SECONDS).length);
            }
            List<String> threads = Leaks.clientThreads();
            System.out.println("512 connections, client threads: " + threads);
            // 2 event loops + at most 2 callback threads (started on demand)
            assertTrue(threads.size() - before <= 4, threads.size() + " client threads: " + threads);
            assertEquals(2, threads.stream().filter(n -> n.startsWith("tidewire-io-")).count(), threads.toString());
            for (Connection c : connections) {
                c.close();
            }
        } finally {
            server.close();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Leaks.clientThreads().size() <= before);
    }

    /** A JSON string literal of {@code size} bytes in all: a quote, letters, a quote. */
    private static byte[] json(int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) 'x');
        b[0] = '"';
        b[size - 1] = '"';
        return b;
    }

    private static Throwable failure(CompletableFuture<byte[]> call) throws InterruptedException {
        try {
            call.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("call did not end", e);
        }
        throw new AssertionError("call succeeded against a peer that never answers");
    }
}
