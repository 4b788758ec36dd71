package dev.tidewire.transport;

import static dev.tidewire.transport.CallOutcomesTest.failure;
import static dev.tidewire.transport.SeedScenarioTest.text;
import static dev.tidewire.transport.SeedScenarioTest.utf8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ConnectFailedException;
import dev.tidewire.ConnectionLostException;
import dev.tidewire.ProtocolException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.BadMagicException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameTooLargeException;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.UnknownFrameTypeException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.ScriptedPeer;
import dev.tidewire.testing.FaultProxy;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** A peer that breaks the protocol, goes silent, or answers late: nothing hangs, nothing leaks. */
class MisbehavingPeerTest {

    private static final ConnectionOptions OPTIONS = ConnectionOptions.builder()
            .connectTimeout(Duration.ofSeconds(2)).build();

    /** Opens a connection to a scripted peer, puts 5 calls in flight, then lets {@code misbehave} act. */
    private static void pendingCallsFailWith(Class<? extends TidewireException> expected, Class<?> cause,
            ScriptedPeerAction misbehave) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), OPTIONS));
            peer.acceptAndHello(100);
            Connection c = opening.get();
            try {
                List<CompletableFuture<byte[]>> calls = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    calls.add(c.call("echo", utf8("{}"), Duration.ofSeconds(30)));
                }
                for (int i = 0; i < 5; i++) {
                    peer.nextFrame(FrameType.REQUEST);
                }
                misbehave.accept(peer);
                for (CompletableFuture<byte[]> f : calls) {
                    TidewireException e = failure(f);
                    assertInstanceOf(expected, e);
                    if (cause != null) {
                        assertInstanceOf(cause, e.getCause(), e.toString());
                    }
                }
                await().atMost(Duration.ofSeconds(2)).until(() -> c.state() == Connection.State.CLOSED);
                assertEquals(0, ((MultiplexedConnection) c).pendingCount());
                await().atMost(Duration.ofSeconds(2)).until(peer::clientClosed);
            } finally {
                c.close();
            }
        }
    }

    interface ScriptedPeerAction {
        void accept(ScriptedPeer peer) throws IOException;
    }

    @Test
    void garbageBytesCloseTheConnectionWithAProtocolError() throws Exception {
        pendingCallsFailWith(ProtocolException.class, BadMagicException.class,
                peer -> peer.sendRaw(utf8("HTTP/1.1 400 Bad Request\r\n\r\n")));
    }

    @Test
    void anOversizeLengthClosesTheConnectionWithAProtocolError() throws Exception {
        pendingCallsFailWith(ProtocolException.class, FrameTooLargeException.class, peer -> {
            ByteBuffer header = ByteBuffer.allocate(16);
            FrameEncoder.writeHeader(header, FrameType.RESPONSE, 1, 0);
            header.putInt(12, Integer.MAX_VALUE);
            peer.sendRaw(header.array());
        });
    }

    @Test
    void anUnknownFrameTypeClosesTheConnectionWithAProtocolError() throws Exception {
        pendingCallsFailWith(ProtocolException.class, UnknownFrameTypeException.class, peer -> {
            byte[] frame = FrameEncoder.encode(Frame.of(FrameType.PONG, 1));
            frame[3] = 0x66;
            peer.sendRaw(frame);
        });
    }

    @Test
    void aReplyForAnIdNeverIssuedIsAProtocolViolation() throws Exception {
        pendingCallsFailWith(ProtocolException.class, ProtocolException.class,
                peer -> peer.send(new Frame(FrameType.RESPONSE, 999, utf8("{}"))));
    }

    @Test
    void aServerThatClosesMidStreamFailsCallsAsConnectionLost() throws Exception {
        pendingCallsFailWith(ConnectionLostException.class, ConnectionLostException.class, peer -> {
            peer.sendRaw(new byte[] {'T', 'W', 1});
            peer.close();
        });
    }

    @Test
    void aLateReplyIsDroppedAndCountedAndTheConnectionStaysUsable() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), OPTIONS));
            peer.acceptAndHello(100);
            try (Connection c = opening.get()) {
                CompletableFuture<byte[]> slow = c.call("echo", utf8("{\"n\":1}"), Duration.ofMillis(100));
                Frame request = peer.nextFrame(FrameType.REQUEST);
                assertInstanceOf(RequestTimeoutException.class, failure(slow));
                Frame cancel = peer.nextFrame(FrameType.CANCEL);
                assertEquals(request.requestId(), cancel.requestId(), "timeout sent CANCEL for the call's id");
                peer.send(new Frame(FrameType.RESPONSE, request.requestId(), utf8("{\"n\":1}")));

                CompletableFuture<byte[]> next = c.call("echo", utf8("{\"n\":2}"), Duration.ofSeconds(5));
                Frame second = peer.nextFrame(FrameType.REQUEST);
                assertTrue(second.requestId() > request.requestId(), "ids rise");
                peer.send(new Frame(FrameType.RESPONSE, second.requestId(), utf8("{\"n\":2}")));
                assertEquals("{\"n\":2}", text(next.get()));
                assertEquals(1, c.stats().lateResponses());
                assertEquals(Connection.State.OPEN, c.state());
            }
        }
    }

    @Test
    void repliesInAnyOrderReachTheirOwnCallers() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), OPTIONS));
            peer.acceptAndHello(100);
            try (Connection c = opening.get()) {
                List<CompletableFuture<byte[]>> calls = new ArrayList<>();
                List<Frame> requests = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    calls.add(c.call("echo", utf8("{\"i\":" + i + "}"), Duration.ofSeconds(5)));
                    requests.add(peer.nextFrame(FrameType.REQUEST));
                }
                for (int i = 19; i >= 0; i--) { // answer in reverse order
                    Frame r = requests.get(i);
                    byte[] payload = r.payload();
                    byte[] body = java.util.Arrays.copyOfRange(payload, 1 + payload[0], payload.length);
                    peer.send(new Frame(FrameType.RESPONSE, r.requestId(), body));
                }
                for (int i = 0; i < 20; i++) {
                    assertEquals("{\"i\":" + i + "}", text(calls.get(i).get()));
                }
            }
        }
    }

    /**
     * A frame that starts and never finishes (a corrupted length, say) while its bytes trickle in:
     * the frame read timeout fails the connection, here before the heartbeat would.
     */
    @Test
    void aFrameThatNeverFinishesFailsTheConnectionWhileItsBytesTrickleIn() throws Exception {
        frameNeverFinishes(ConnectionOptions.builder().frameReadTimeout(Duration.ofSeconds(1)).build(), 100,
                "still incomplete", 1000);
    }

    /**
     * The deaf connection, with default options: a frame declared 1 MiB long whose bytes trickle
     * in every 200 ms. Bytes do not count as liveness, completed frames do, so the heartbeat fails
     * the connection within its 5 s timeout (before this, every byte counted, and only the 10 s
     * frame read timeout or the end of the frame freed the calls).
     */
    @Test
    void withDefaultsAConnectionWhoseFrameNeverFinishesFailsWithinTheHeartbeatTimeout() throws Exception {
        ConnectionOptions d = ConnectionOptions.defaults();
        frameNeverFinishes(d, 200, "no frame completes", d.heartbeatTimeout().toMillis());
    }

    private static void frameNeverFinishes(ConnectionOptions options, long trickleMillis, String why, long limit)
            throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), options));
            peer.acceptAndHello(100);
            Connection c = opening.get();
            try {
                CompletableFuture<byte[]> call = c.call("echo", utf8("{}"), Duration.ofSeconds(30));
                long id = peer.nextFrame(FrameType.REQUEST).requestId();
                ByteBuffer header = ByteBuffer.allocate(16);
                dev.tidewire.protocol.FrameEncoder.writeHeader(header, FrameType.RESPONSE, id, 1024 * 1024);
                peer.sendRaw(header.array());
                long start = System.nanoTime();
                for (int i = 0; i < 2 * limit / trickleMillis + 20 && c.state() != Connection.State.CLOSED; i++) {
                    try {
                        peer.sendRaw(new byte[10]);
                    } catch (IOException closedMeanwhile) {
                        break; // the client failed the connection between the check and the send
                    }
                    java.util.concurrent.TimeUnit.MILLISECONDS.sleep(trickleMillis); // the peer's pace, not a wait for a condition
                }
                long ms = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                System.out.println("a frame that never finishes: connection failed after " + ms + " ms ("
                        + c.closeReason().getMessage() + ")");
                assertEquals(Connection.State.CLOSED, c.state());
                assertTrue(c.closeReason().getMessage().contains(why), c.closeReason().getMessage());
                assertTrue(ms < limit + 1500, "failed after " + ms + " ms; the limit is " + limit + " ms");
                assertInstanceOf(ConnectionLostException.class, failure(call));
            } finally {
                c.close();
            }
        }
    }

    @Test
    void aSilentPeerIsDetectedByTheHeartbeat() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (FaultProxy proxy = new FaultProxy(server.address())) {
            ConnectionOptions options = ConnectionOptions.builder()
                    .heartbeat(Duration.ofMillis(200), Duration.ofMillis(1000)).build();
            try (Connection c = Connection.open(proxy.address(), options)) {
                assertEquals("{}", text(c.call("echo", utf8("{}"), Duration.ofSeconds(2)).get()));
                proxy.blackhole();
                long start = System.nanoTime();
                List<CompletableFuture<byte[]>> calls = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    calls.add(c.call("echo", utf8("{}"), Duration.ofSeconds(30)));
                }
                for (CompletableFuture<byte[]> f : calls) {
                    ConnectionLostException e = assertInstanceOf(ConnectionLostException.class, failure(f));
                    assertTrue(e.getMessage().contains("heartbeat"), e.getMessage());
                }
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertTrue(ms < 1000 + 500, "detected after " + ms + " ms; heartbeat timeout is 1000 ms");
                assertEquals(Connection.State.CLOSED, c.state());
            }
        } finally {
            server.close();
        }
    }

    @Test
    void defaultHeartbeatDetectsASilentPeerWithinTenSeconds() {
        ConnectionOptions d = ConnectionOptions.defaults();
        Duration worst = d.heartbeatTimeout().plus(TransportResources.DEFAULT_TIMER_TICK);
        assertTrue(worst.compareTo(Duration.ofSeconds(10)) <= 0, "worst case " + worst);
    }

    @Test
    void aServerThatRefusesTheHandshakeGivesATypedConnectError() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), OPTIONS));
            peer.acceptAndRefuse(ErrorCode.UNSUPPORTED_VERSION, "version 1 not spoken here");
            CompletionException e = assertThrows(CompletionException.class, opening::join);
            ConnectFailedException cause = assertInstanceOf(ConnectFailedException.class, e.getCause());
            assertTrue(cause.getMessage().contains("UNSUPPORTED_VERSION"), cause.getMessage());
            assertTrue(cause.retryable());
        }
    }

    @Test
    void nothingListeningGivesATypedConnectError() throws Exception {
        java.net.InetSocketAddress closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
        java.net.InetSocketAddress target = closedPort;
        ConnectFailedException e = assertThrows(ConnectFailedException.class,
                () -> Connection.open(target, OPTIONS));
        assertTrue(e.getMessage().contains(String.valueOf(target.getPort())), e.getMessage());
    }
}
