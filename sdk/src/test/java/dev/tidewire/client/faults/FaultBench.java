package dev.tidewire.client.faults;

import static org.awaitility.Awaitility.await;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A reference server on 127.0.0.1 (port 0), optionally behind a {@link FaultProxy}, and the fault
 * classes a client must recover from, each with a way to inject it and to heal it. "Server kill
 * and restart" stops the server and, to heal, starts a new one on the same port (as
 * {@code ServerRestartTest} does); the other classes are proxy modes healed by {@link FaultProxy#pass()}.
 */
final class FaultBench implements AutoCloseable {
    /** Per-frame odds of a flipped payload byte while {@link Fault#CORRUPTION} is on. */
    static final double CORRUPTION_ODDS = 0.25;
    /** Period of the reset storm. */
    static final Duration STORM_PERIOD = Duration.ofMillis(200);

    /** The fault classes; the first six are the ones the recovery bound is promised for. */
    enum Fault {
        /** Read everything, forward nothing, both ways; sockets stay open. */
        BLACKHOLE("blackhole"),
        /** FIN towards the client on every connection, new ones included; the proxy keeps reading. */
        HALF_CLOSE("half-close"),
        /** Every connection reset (RST) when accepted and every 200 ms. */
        RST_STORM("RST storm"),
        /** One payload byte flipped in 25 % of the server's frames (headers intact). */
        CORRUPTION("payload corruption"),
        /** 2.5 s added to every chunk, each way. */
        DELAY("2.5 s delay"),
        /** The server stops (connections drop, connects are refused); healed by a new one on the port. */
        KILL_RESTART("server kill + restart"),
        // milder ones the soak also mixes in
        LATENCY("30 ms latency"),
        HEADER_CORRUPTION("corrupt frame header"),
        ONE_BYTE_WRITES("one-byte writes"),
        BANDWIDTH("256 KiB/s"),
        RESET_ONCE("reset all once");

        private final String label;

        Fault(String label) {
            this.label = label;
        }

        boolean needsProxy() {
            return this != KILL_RESTART;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    private volatile TidewireServer server;
    private final int port;
    private final FaultProxy proxy;

    /** @param viaProxy whether the client goes through a {@link FaultProxy} (needed by every class but KILL_RESTART) */
    FaultBench(boolean viaProxy) throws IOException {
        server = TidewireServer.builder().build().start();
        port = server.port();
        FaultProxy p = null;
        try {
            p = viaProxy ? new FaultProxy(server.address()) : null;
        } finally {
            if (viaProxy && p == null) {
                server.close();
            }
        }
        proxy = p;
    }

    /** Where the client should connect: the proxy, or the server itself. */
    InetSocketAddress clientAddress() {
        return proxy != null ? proxy.address() : server.address();
    }

    TidewireServer server() {
        return server;
    }

    FaultProxy proxy() {
        return proxy;
    }

    void inject(Fault fault, long seed) {
        if (fault.needsProxy() && proxy == null) {
            throw new IllegalStateException(fault + " needs the proxy");
        }
        switch (fault) {
            case BLACKHOLE -> proxy.blackhole();
            case HALF_CLOSE -> proxy.halfClose();
            case RST_STORM -> proxy.resetStorm(STORM_PERIOD);
            case CORRUPTION -> proxy.corruptPayloads(seed, CORRUPTION_ODDS);
            case DELAY -> proxy.latency(Duration.ofMillis(2500));
            case KILL_RESTART -> server.close();
            case LATENCY -> proxy.latency(Duration.ofMillis(30));
            case HEADER_CORRUPTION -> proxy.corruptServerBytesOfConnection(proxy.accepted());
            case ONE_BYTE_WRITES -> proxy.oneByteWrites();
            case BANDWIDTH -> proxy.bandwidth(256 * 1024);
            case RESET_ONCE -> proxy.resetAll();
            default -> throw new IllegalArgumentException(String.valueOf(fault));
        }
    }

    /** Heals {@code fault}; returns once the path is healthy again (for a restart: the new server listens). */
    void heal(Fault fault) {
        if (proxy != null) {
            proxy.pass();
        }
        if (fault == Fault.KILL_RESTART) {
            // the port was ours a moment ago; binding again may need a few tries (bounded)
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
                    .until(() -> (server = TidewireServer.builder().port(port).build().start()) != null);
        }
    }

    @Override
    public void close() {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            server.close();
        }
    }
}
