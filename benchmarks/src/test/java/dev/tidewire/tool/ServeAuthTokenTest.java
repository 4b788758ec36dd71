package dev.tidewire.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.AuthenticationException;
import dev.tidewire.client.TidewireClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --auth-token-file}: only clients with the file's bearer token are admitted. */
@Timeout(60)
class ServeAuthTokenTest {
    private static final String TOKEN = "serve-token-4b1e9f";

    @TempDir
    Path dir;

    private static TidewireClient.Builder client(int port) {
        return TidewireClient.builder().address("127.0.0.1:" + port).maxConnections(1)
                .requestTimeout(Duration.ofSeconds(5)).connectBackoff(Duration.ofMillis(200), Duration.ofSeconds(2));
    }

    @Test
    void onlyAClientWithTheTokenIsAdmitted() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "  " + TOKEN + "\n"); // surrounding whitespace is not part of the token
        ServeCommand serve = ServeCommand.parse(List.of("--port", "0", "--auth-token-file", file.toString()));
        try (ServeCommand.Running running = serve.start()) {
            try (TidewireClient right = client(running.port()).bearerToken(TOKEN).build()) {
                assertEquals("hi", right.call("echo", "hi", String.class));
            }
            for (TidewireClient.Builder refused : List.of(client(running.port()),
                    client(running.port()).bearerToken(TOKEN + "x"),
                    client(running.port()).bearerToken(TOKEN.substring(1)),
                    client(running.port()).bearerToken(" " + TOKEN),
                    client(running.port()).credentials(java.util.Map.of("type", "basic", "token", TOKEN)))) {
                try (TidewireClient c = refused.build()) {
                    AuthenticationException e = assertThrows(AuthenticationException.class,
                            () -> c.call("echo", "hi", String.class));
                    assertFalse(e.retryable());
                    assertTrue(e.getMessage().contains("4 UNAUTHENTICATED"), e.getMessage());
                    assertFalse(e.getMessage().contains(TOKEN), e.getMessage());
                }
            }
        }
    }

    @Test
    void aMissingEmptyOrMultiLineTokenFileStopsServeBeforeItListens() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), " \n\t\n");
        Path twoLines = Files.writeString(dir.resolve("two"), "one\ntwo\n");
        Path tooLarge = Files.write(dir.resolve("large"), new byte[ServeCommand.MAX_TOKEN_FILE_BYTES + 1]);
        String[][] cases = {
                {dir.resolve("missing").toString(), "no such file"},
                {empty.toString(), "empty"},
                {twoLines.toString(), "holds more than one line"},
                {tooLarge.toString(), "larger than"},
                {dir.toString(), "cannot read"}, // a directory
        };
        for (String[] c : cases) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Main.run(new String[] {"serve", "--port", "0", "--auth-token-file", c[0]},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            String text = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, code, text);
            assertTrue(text.startsWith("error: --auth-token-file " + c[0] + ": " + c[1]), text);
            assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing listened");
        }
    }

    @Test
    void helpDescribesTheFlagAndHowToStopServe() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, Main.run(new String[] {"serve", "--help"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
        String help = out.toString(StandardCharsets.UTF_8);
        assertTrue(help.contains("  --auth-token-file F "), help);
        assertTrue(help.contains("UNAUTHENTICATED"), help);
        assertTrue(help.contains("SIGTERM"), help);
    }
}
