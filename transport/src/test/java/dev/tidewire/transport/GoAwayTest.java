package dev.tidewire.transport;

import static dev.tidewire.transport.CallOutcomesTest.failure;
import static dev.tidewire.transport.SeedScenarioTest.text;
import static dev.tidewire.transport.SeedScenarioTest.utf8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.GoAwayPayload;
import dev.tidewire.testing.ScriptedPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Java client and GOAWAYs the reference server never sends (protocol.md 11.2): a second one
 * (the lower last id counts), and one naming an id above every id the client sent.
 */
@Timeout(60)
class GoAwayTest {
    private static final ConnectionOptions OPTIONS = ConnectionOptions.defaults(); // what users get

    private static Frame goAway(long lastId) {
        return new Frame(FrameType.GOAWAY, lastId, new GoAwayPayload("test").encode());
    }

    /** Opens a connection to {@code peer} and writes {@code n} calls (ids 1..n), read by the peer. */
    private static List<CompletableFuture<byte[]>> callsInFlight(ScriptedPeer peer, Connection c, int n) throws Exception {
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            calls.add(c.call("echo", utf8("{\"n\":" + i + "}"), Duration.ofSeconds(30)));
        }
        for (int i = 1; i <= n; i++) {
            assertEquals(i, peer.nextFrame(FrameType.REQUEST).requestId());
        }
        return calls;
    }

    private static Connection open(ScriptedPeer peer) throws Exception {
        CompletableFuture<Connection> opening = CompletableFuture.supplyAsync(() -> Connection.open(peer.address(), OPTIONS));
        peer.acceptAndHello(100);
        return opening.get(5, TimeUnit.SECONDS);
    }

    /**
     * GOAWAY(3), then GOAWAY(2), then GOAWAY(4): the client keeps 2, the lowest. When the server then
     * closes, request 2 has an unknown outcome and 3 and 4 were not processed. (The last GOAWAY's id
     * counted, so 3 and 4 were reported as lost, outcome unknown.)
     */
    @Test
    void aSecondGoAwayCountsOnlyIfItNamesALowerId() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(); // closed in the middle: the server goes away
        try {
            Connection c = open(peer);
            try {
                List<CompletableFuture<byte[]>> calls = callsInFlight(peer, c, 4);
                peer.send(goAway(3));
                peer.send(goAway(2));
                peer.send(goAway(4)); // raising the id breaks the rule: ignored
                peer.send(new Frame(FrameType.RESPONSE, 1, utf8("{\"n\":1}")));
                assertEquals("{\"n\":1}", text(calls.get(0).get(5, TimeUnit.SECONDS)));
                assertEquals(Connection.State.DRAINING, c.state());
                assertInstanceOf(NotProcessedException.class, failure(c.call("echo", utf8("{}"), Duration.ofSeconds(1))),
                        "no new request after GOAWAY");
                peer.close();
                TidewireException second = failure(calls.get(1));
                assertInstanceOf(ConnectionLostException.class, second, "request 2 <= 2: outcome unknown");
                for (int i = 2; i < 4; i++) {
                    TidewireException e = failure(calls.get(i));
                    assertInstanceOf(NotProcessedException.class, e, "request " + (i + 1) + " > 2: " + e);
                    assertEquals(true, e.retryable());
                }
                await().atMost(Duration.ofSeconds(2)).until(() -> c.state() == Connection.State.CLOSED);
            } finally {
                c.close();
            }
        } finally {
            peer.close();
        }
    }

    /**
     * A GOAWAY naming an id above the highest one sent (100, with 1 and 2 sent) means every request
     * sent will be answered: the client waits for both replies, sends nothing new, and then closes
     * by itself; none of them is reported as not processed.
     */
    @Test
    void aGoAwayAboveEveryIdSentMeansEveryRequestSentWillBeAnswered() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer()) {
            Connection c = open(peer);
            try {
                List<CompletableFuture<byte[]>> calls = callsInFlight(peer, c, 2);
                peer.send(goAway(100));
                await().atMost(Duration.ofSeconds(2)).until(() -> c.state() == Connection.State.DRAINING);
                assertInstanceOf(NotProcessedException.class, failure(c.call("echo", utf8("{}"), Duration.ofSeconds(1))),
                        "no new request after GOAWAY, whatever its id");
                peer.send(new Frame(FrameType.RESPONSE, 2, utf8("{\"n\":2}")));
                assertEquals("{\"n\":2}", text(calls.get(1).get(5, TimeUnit.SECONDS)));
                peer.send(new Frame(FrameType.RESPONSE, 1, utf8("{\"n\":1}")));
                assertEquals("{\"n\":1}", text(calls.get(0).get(5, TimeUnit.SECONDS)));
                await().atMost(Duration.ofSeconds(3)).until(peer::clientClosed);
                await().atMost(Duration.ofSeconds(2)).until(() -> c.state() == Connection.State.CLOSED);
            } finally {
                c.close();
            }
        }
    }

    /** Under a GOAWAY above every id sent, a request lost with the connection has an unknown outcome. */
    @Test
    void underAGoAwayAboveEveryIdSentALostRequestHasAnUnknownOutcome() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(); // closed in the middle: the server goes away
        try {
            Connection c = open(peer);
            try {
                List<CompletableFuture<byte[]>> calls = callsInFlight(peer, c, 1);
                peer.send(goAway(100));
                await().atMost(Duration.ofSeconds(2)).until(() -> c.state() == Connection.State.DRAINING);
                peer.close();
                assertInstanceOf(ConnectionLostException.class, failure(calls.get(0)));
            } finally {
                c.close();
            }
        } finally {
            peer.close();
        }
    }
}
