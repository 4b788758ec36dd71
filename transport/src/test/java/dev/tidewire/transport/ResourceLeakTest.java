package dev.tidewire.transport;

import static dev.tidewire.transport.SeedScenarioTest.utf8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** After close, no thread Tidewire started is alive and no socket is open. */
class ResourceLeakTest {

    @Test
    void afterCloseNoTidewireThreadOrSocketRemains() throws Exception {
        // The JDK keeps one end of a socketpair open for good once a socket is closed while a
        // thread is blocked on it (NioSocketImpl's pre-close descriptor): open and close a server
        // first, so that descriptor is part of the baseline rather than counted as our leak.
        TidewireServer.builder().build().start().close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
        int socketsBefore = Leaks.openSockets();

        TidewireServer server = TidewireServer.builder().build().start();
        TransportResources resources = TransportResources.create();
        List<Connection> connections = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            connections.add(Connection.open(server.address(), ConnectionOptions.defaults(), resources));
        }
        Connection own = Connection.open(server.address(), ConnectionOptions.defaults());
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (Connection c : connections) {
            calls.add(c.call("echo", utf8("{}"), Duration.ofSeconds(2)));
            calls.add(c.call("sleep", utf8("{\"millis\":60000}"), Duration.ofSeconds(60)));
        }
        calls.add(own.call("echo", utf8("{}"), Duration.ofSeconds(2)));
        calls.get(0).get();

        connections.forEach(Connection::close);
        own.close();
        resources.close();
        server.close();

        for (CompletableFuture<byte[]> f : calls) {
            await().atMost(Duration.ofSeconds(2)).until(f::isDone);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertEquals(List.of(), Leaks.tidewireThreads()));
        if (socketsBefore >= 0) {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertEquals(socketsBefore, Leaks.openSockets()));
        }
    }
}
