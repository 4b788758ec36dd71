package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.RemoteException;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.Endpoint;
import dev.tidewire.pool.EndpointResolver;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import dev.tidewire.testing.Leaks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the library writes to its logs ({@code docs/configuration.md}, "Logging"), read through
 * java.util.logging, where {@code System.Logger} goes by default: a graceful close is no failure,
 * and a failure that repeats is one line per window, not one per attempt.
 */
class LoggingTest {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2); // as the README

    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private final Logger tidewireLogger = Logger.getLogger("dev.tidewire");
    private Level previousLevel;

    @BeforeEach
    void capture() {
        previousLevel = tidewireLogger.getLevel();
        tidewireLogger.setLevel(Level.ALL); // DEBUG (FINE) included: graceful closes are logged there
        capture.setLevel(Level.ALL);
        tidewireLogger.addHandler(capture);
    }

    @AfterEach
    void restore() {
        tidewireLogger.removeHandler(capture);
        tidewireLogger.setLevel(previousLevel);
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    private static TidewireClient.Builder client(String address) {
        return TidewireClient.builder().address(address).requestTimeout(REQUEST_TIMEOUT);
    }

    private static void someCalls(TidewireClient client, int n) throws Exception {
        List<CompletableFuture<Message>> async = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Message m = new Message("log-" + i, "graceful");
            assertEquals(m, client.call("echo", m, Message.class));
            async.add(client.callAsync("echo", m, Message.class));
        }
        for (CompletableFuture<Message> f : async) {
            f.get(5, TimeUnit.SECONDS);
        }
    }

    private List<String> messages(Predicate<LogRecord> which) {
        return records.stream().filter(which).map(r -> r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage())
                .toList();
    }

    private boolean logged(String text) {
        return records.stream().anyMatch(r -> r.getMessage() != null && r.getMessage().contains(text));
    }

    /** Nothing at WARNING or above, and no message that says "failed", at any level. */
    private void assertNoFailureLogged() {
        List<String> loud = messages(r -> r.getLevel().intValue() >= Level.WARNING.intValue());
        assertTrue(loud.isEmpty(), "logged at WARNING or above: " + loud);
        List<String> failed = messages(r -> r.getMessage() != null
                && r.getMessage().toLowerCase(Locale.ROOT).contains("failed"));
        assertTrue(failed.isEmpty(), "a graceful close logged as a failure: " + failed);
    }

    @Test
    void theServerClosingIdleConnectionsAndTheClientClosingAreNotFailures() throws Exception {
        // the server closes a connection idle for 1.2 s, before the client's first heartbeat (2 s)
        TidewireServer server = TidewireServer.builder().idleTimeout(Duration.ofMillis(1200)).build().start();
        TidewireClient client = client("127.0.0.1:" + server.port()).build();
        try {
            someCalls(client, 10);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> logged("idle; closing")
                            && logged("closed: closed by the server with no call in flight"));
            someCalls(client, 10); // on the connection the pool opened again
            client.close(); // graceful
            assertTrue(client.awaitTermination(Duration.ofSeconds(10)));
            await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().connectionsOpen() == 0);
        } finally {
            client.close();
            server.close();
        }
        assertTrue(logged("closed by the client"), messages(r -> true).toString());
        assertNoFailureLogged();
    }

    @Test
    void aGoAwayDrainIsNotAFailure() throws Exception {
        // a rolling restart behind a TCP balancer: the old server sends GOAWAY, the client drains
        // its connection and opens the next one, through the balancer, to the new server
        TidewireServer old = TidewireServer.builder().build().start();
        TidewireServer next = TidewireServer.builder().build().start();
        try (FaultProxy balancer = new FaultProxy(old.address());
                TidewireClient client = client("127.0.0.1:" + balancer.address().getPort()).build()) {
            someCalls(client, 10);
            balancer.retarget(next.address());
            old.shutdown(Duration.ofSeconds(5));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("sent GOAWAY"));
            someCalls(client, 10);
            assertTrue(next.stats().requests() >= 20, "the new server answered");
            client.close(); // graceful, before the balancer closes
            assertTrue(client.awaitTermination(Duration.ofSeconds(10)));
        } finally {
            old.close();
            next.close();
        }
        assertTrue(logged("drained"), messages(r -> true).toString());
        assertNoFailureLogged();
    }

    @Test
    void thePoolEvictingIdleConnectionsIsNotAFailure() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = client("127.0.0.1:" + server.port()).idleTimeout(Duration.ofMillis(200))
                .evictionInterval(Duration.ofMillis(100)).build()) {
            someCalls(client, 10);
            await().atMost(Duration.ofSeconds(10)).until(() -> client.poolStats().open() == 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("closed: drained (shutdown requested)"));
            someCalls(client, 5);
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(10)));
        } finally {
            server.close();
        }
        assertNoFailureLogged();
    }

    @Test
    void aServerThatIsDownIsOneWarningPerAddressNotOnePerConnectAttempt() throws Exception {
        InetSocketAddress closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
        String port = ":" + closed.getPort();
        Predicate<LogRecord> connectFailure = r -> r.getLoggerName().endsWith("Connector")
                && r.getMessage().contains(port) && r.getMessage().contains("retrying in the background");
        AtomicInteger calls = new AtomicInteger();
        try (TidewireClient client = client("127.0.0.1" + port).build()) {
            // a call every 100 ms keeps the pool connecting (backoff 100 ms, doubling) until it has
            // tried 6 times: about 2 s of a server that is down
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
                calls.incrementAndGet();
                CompletableFuture<Message> f = client.callAsync("echo", new Message("down", "?"), Message.class);
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
                assertInstanceOf(TidewireException.class, e.getCause());
                return records.stream().filter(connectFailure).count() >= 6;
            });
        }
        List<String> warnings = messages(connectFailure.and(r -> r.getLevel() == Level.WARNING));
        assertTrue(warnings.size() >= 1 && warnings.size() <= 2, calls + " calls: " + warnings);
        List<String> debug = messages(connectFailure.and(r -> r.getLevel() == Level.FINE));
        assertTrue(debug.size() >= 5, "DEBUG sees each attempt: " + debug);
        assertTrue(debug.get(0).contains("(a repeat: WARNING lines for this are limited to one per 30 s)"),
                debug.get(0));
        assertEquals(0, messages(r -> r.getLevel().intValue() > Level.WARNING.intValue()).size());
    }

    @Test
    void aFailingResolverIsOneWarningThenOneInfoLineWhenItAnswersAgain() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        AtomicReference<EndpointResolver.Listener> listener = new AtomicReference<>();
        EndpointResolver resolver = new EndpointResolver() {
            @Override
            public void start(Listener l) {
                listener.set(l);
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return "flaky-dns";
            }
        };
        try (TidewireClient client = TidewireClient.builder().target(resolver).requestTimeout(REQUEST_TIMEOUT)
                .build()) {
            for (int i = 0; i < 50; i++) {
                listener.get().onError(new UnknownHostException("flaky-dns: SERVFAIL #" + i));
            }
            listener.get().onEndpoints(List.of(Endpoint.of(server.address())));
            someCalls(client, 3);
        } finally {
            server.close();
        }
        Predicate<LogRecord> resolving = r -> r.getLoggerName().endsWith(".Fleet")
                && r.getMessage().contains("flaky-dns");
        List<String> warnings = messages(resolving.and(r -> r.getLevel() == Level.WARNING));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("resolving flaky-dns failed (keeping 0 endpoints): flaky-dns: SERVFAIL #0"),
                warnings.get(0));
        assertEquals(49, messages(resolving.and(r -> r.getLevel() == Level.FINE)).size());
        List<String> info = messages(resolving.and(r -> r.getLevel() == Level.INFO));
        assertEquals(1, info.size(), info.toString());
        assertTrue(info.get(0).contains("resolved flaky-dns again after 50 failed attempts over "), info.get(0));
    }

    @Test
    void aClientCannotFloodTheServersLogWithFailuresItTriggers() throws Exception {
        TidewireServer server = TidewireServer.builder().blockingHandler("boom", request -> {
            throw new IllegalStateException("a bug in the handler");
        }).build().start();
        try (TidewireClient client = client("127.0.0.1:" + server.port()).build()) {
            for (int i = 0; i < 50; i++) {
                RemoteException e = assertThrows(RemoteException.class, () -> client.call("boom", null, Message.class));
                assertEquals(ErrorCode.INTERNAL, e.code());
            }
        } finally {
            server.close();
        }
        Predicate<LogRecord> handlerThrew = r -> r.getLoggerName().endsWith("ServerConnection")
                && r.getMessage().startsWith("handler for op 'boom' threw");
        List<String> errors = messages(handlerThrew.and(r -> r.getLevel() == Level.SEVERE));
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("IllegalStateException: a bug in the handler; answered INTERNAL"),
                errors.get(0));
        assertEquals(49, messages(handlerThrew.and(r -> r.getLevel() == Level.FINE)).size());
    }

    @Test
    void theLoggersAreNamedAfterTheirClassesUnderDevTidewire() {
        // what the docs tell users to configure: "dev.tidewire" and class names under it
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = client("127.0.0.1:" + server.port()).build()) {
            assertEquals("x", client.call("echo", "x", String.class));
        } finally {
            server.close();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> records.stream().anyMatch(r -> r.getLoggerName().equals(
                "dev.tidewire.transport.internal.MultiplexedConnection")));
        assertTrue(records.stream().allMatch(r -> r.getLoggerName().startsWith("dev.tidewire.")),
                messages(r -> true).toString());
    }
}
