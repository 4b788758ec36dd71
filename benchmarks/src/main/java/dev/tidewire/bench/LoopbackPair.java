package dev.tidewire.bench;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import java.net.InetAddress;
import java.util.function.Consumer;

/** A reference server on 127.0.0.1 (port 0) and a client of it, for the end-to-end suites. */
final class LoopbackPair implements AutoCloseable {
    final TidewireServer server;
    final TidewireClient client;

    private LoopbackPair(TidewireServer server, TidewireClient client) {
        this.server = server;
        this.client = client;
    }

    /** Starts both, then runs {@code probe} on the client (a first call); nothing is left running if any step fails. */
    static LoopbackPair start(int maxConnections, Consumer<TidewireClient> probe) {
        TidewireServer server = TidewireServer.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0).build().start();
        TidewireClient client = null;
        try {
            client = TidewireClient.builder().address(server.address()).maxConnections(maxConnections).build();
            probe.accept(client);
            return new LoopbackPair(server, client);
        } catch (RuntimeException e) {
            new LoopbackPair(server, client).close();
            throw e;
        }
    }

    /** Closes the client, then the server, even if closing the client fails. */
    @Override
    public void close() {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            server.close();
        }
    }
}
