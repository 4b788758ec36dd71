package dev.tidewire.client.security;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.AuthenticationException;
import dev.tidewire.TidewireException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.server.Authenticator;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.RawClient;
import dev.tidewire.transport.ConnectionOptions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Credentials in HELLO, the server's authenticator, and the client's typed, non-retried refusal. */
class AuthenticationTest {
    private static final String RIGHT = "right-token-7f3a9c";
    private static final String WRONG = "wrong-token-d41d8c";

    private final List<String> logLines = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            logLines.add(r.getLoggerName() + " " + r.getMessage() + " " + (r.getThrown() == null ? "" : r.getThrown()));
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
    private TidewireServer server;

    @BeforeEach
    void start() {
        previousLevel = tidewireLogger.getLevel();
        tidewireLogger.setLevel(Level.ALL); // every level, DEBUG included, must be free of credentials
        tidewireLogger.addHandler(capture);
        byte[] expected = RIGHT.getBytes(StandardCharsets.UTF_8);
        Authenticator auth = (credentials, remote) -> "bearer".equals(credentials.get("type"))
                && MessageDigest.isEqual(expected, credentials.getOrDefault("token", "").getBytes(StandardCharsets.UTF_8));
        server = TidewireServer.builder().authenticator(auth).build().start();
    }

    @AfterEach
    void stop() {
        server.close();
        tidewireLogger.removeHandler(capture);
        tidewireLogger.setLevel(previousLevel);
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
        for (String line : logLines) {
            assertFalse(line.contains(RIGHT) || line.contains(WRONG), "a log line shows a credential: " + line);
        }
    }

    private TidewireClient.Builder client(String token) {
        return TidewireClient.builder().address("127.0.0.1:" + server.port()).maxConnections(2)
                .requestTimeout(Duration.ofSeconds(5)).connectBackoff(Duration.ofMillis(200), Duration.ofSeconds(2))
                .bearerToken(token);
    }

    @Test
    void theRightTokenIsAccepted() {
        try (TidewireClient c = client(RIGHT).build()) {
            assertEquals("hi", c.call("echo", "hi", String.class));
        }
        assertEquals(0, server.stats().authenticationFailures());
    }

    @Test
    void aWrongTokenFailsFastNotRetryableAndConnectAttemptsStayBounded() {
        try (TidewireClient c = client(WRONG).build()) {
            long start = System.nanoTime();
            AuthenticationException e = assertThrows(AuthenticationException.class, () -> c.call("echo", "hi", String.class));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 1000, "refused after " + ms + " ms; the call's deadline was 5 s");
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains("4 UNAUTHENTICATED"), e.getMessage());
            assertFalse(e.getMessage().contains(WRONG), e.getMessage());

            // Many calls in a burst: each fails with the same type, and the backoff keeps the
            // server from seeing a reconnect per call.
            for (int i = 0; i < 50; i++) {
                TidewireException again = assertThrows(TidewireException.class, () -> c.call("echo", "hi", String.class));
                assertInstanceOf(AuthenticationException.class, again, again.toString());
                assertFalse(again.retryable());
                assertFalse(again.getMessage().contains(WRONG), again.getMessage());
            }
            long ms50 = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            long attempts = server.stats().connectionsAccepted();
            // backoff 200 ms doubling: at most one attempt per backoff window in the burst's duration
            assertTrue(attempts <= 2 + ms50 / 200, attempts + " connects in " + ms50 + " ms");
            assertEquals(attempts, server.stats().authenticationFailures());
            assertTrue(ms50 < 2000, "51 refused calls took " + ms50 + " ms");
        }
    }

    @Test
    void anAuthenticatorThatThrowsRefusesTheClient() {
        server.close();
        server = TidewireServer.builder().authenticator((credentials, remote) -> {
            throw new IllegalStateException("token " + credentials.get("token") + " unknown");
        }).build().start();
        try (TidewireClient c = client(WRONG).build()) {
            AuthenticationException e = assertThrows(AuthenticationException.class, () -> c.call("echo", "hi", String.class));
            assertFalse(e.getMessage().contains(WRONG), e.getMessage());
        }
        assertEquals(1, server.stats().authenticationFailures());
    }

    @Test
    void theServerAnswersUnauthenticatedWithoutEchoingTheCredentialsThenCloses() throws Exception {
        try (RawClient raw = new RawClient(server.address())) {
            Hello hello = new Hello(Protocol.VERSION, Protocol.DEFAULT_MAX_FRAME_SIZE, 0, "raw",
                    Map.of("type", "bearer", "token", WRONG));
            raw.send(new Frame(FrameType.HELLO, 0, hello.encode()));
            Frame f = raw.next();
            assertNotNull(f);
            assertEquals(FrameType.ERROR, f.type());
            assertEquals(0, f.requestId());
            ErrorPayload err = ErrorPayload.decode(f.payload());
            assertEquals(ErrorCode.UNAUTHENTICATED, err.code());
            assertEquals("authentication failed", err.message());
            assertFalse(new String(f.payload(), StandardCharsets.UTF_8).contains(WRONG));
            assertTrue(raw.awaitClosed(), "the server closes after refusing");
        }
        assertEquals(1, server.stats().authenticationFailures());
        assertEquals(0, server.stats().protocolErrors());
    }

    @Test
    void credentialsNeverAppearInToString() {
        Hello hello = new Hello(1, 4096, 0, "a", Map.of("type", "bearer", "token", RIGHT));
        assertFalse(hello.toString().contains(RIGHT), hello.toString());
        ConnectionOptions options = ConnectionOptions.builder().bearerToken(RIGHT).build();
        assertFalse(options.toString().contains(RIGHT), options.toString());
        assertTrue(options.toString().contains("credentials=<redacted>"), options.toString());
        assertEquals(Map.of("type", "bearer", "token", RIGHT), options.credentials());
        try (TidewireClient c = client(RIGHT).build()) {
            String text = c.options().toString();
            assertFalse(text.contains(RIGHT), text);
            assertTrue(text.contains("credentials=<redacted>"), text);
        }
        assertFalse(ConnectionOptions.defaults().toString().contains("credentials"));
    }

    @Test
    void credentialOptionsAreValidatedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConnectionOptions.builder().bearerToken(""));
        assertTrue(e.getMessage().contains("bearerToken"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ConnectionOptions.builder().credentials(Map.of("", "x")));
        assertTrue(e.getMessage().contains("credentials"), e.getMessage());
    }
}
