package dev.tidewire.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tidewire.server.TidewireServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link ReadmeExample}, the README's usage code, and checks that it prints what the README
 * says it prints ({@code readme-output.txt}, the README's "It prints" block): against the server
 * given as {@code -Dtidewire.address=host:port}, else against a reference server started here
 * (127.0.0.1, a free port, the built-in ops {@code echo}, {@code metadata} and {@code fail}).
 */
class ReadmeExampleTest {
    @Test
    void theReadmeCodePrintsWhatTheReadmeShows() throws IOException {
        List<String> expected;
        try (InputStream in = ReadmeExampleTest.class.getResourceAsStream("/readme-output.txt")) {
            assertNotNull(in, "readme-output.txt");
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
        String given = System.getProperty("tidewire.address", "");
        TidewireServer server = given.isBlank() ? TidewireServer.builder().build().start() : null;
        String address = server == null ? given : "127.0.0.1:" + server.port();
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            ReadmeExample.main(new String[] {address});
        } finally {
            System.setOut(stdout);
            if (server != null) {
                server.close();
            }
        }
        String output = printed.toString(StandardCharsets.UTF_8);
        System.out.print(output);
        assertEquals(expected, output.lines().toList(), () -> "ReadmeExample against " + address + " printed:\n" + output);
    }
}
