package dev.tidewire.tool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.testing.Leaks;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs {@code demo} in-process and checks what it prints and that it leaves no Tidewire thread behind. */
class DemoTest {
    @Test
    @Timeout(60)
    void demoRunsTheSeedScenarioAndALoadSummaryThenCleansUp() {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo", "--seconds", "1", "--callers", "4", "--connections", "2"},
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
        String out = stdout.toString(StandardCharsets.UTF_8);

        assertEquals(0, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + stderr);
        assertTrue(out.lines().anyMatch(l -> l.contains("rec1:") && l.contains("pixelpig!")), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("rec2:") && l.contains("another pig!")), out);
        assertTrue(out.contains("both calls shared one connection"), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("timeout:") && l.contains("RequestTimeoutException")
                && l.contains("timed out") && l.matches(".* after \\d+ ms: .*")), out);

        Matcher calls = Pattern.compile("calls\\s+([\\d,]+) in ").matcher(out);
        assertTrue(calls.find(), out);
        assertTrue(Long.parseLong(calls.group(1).replace(",", "")) > 0, out);
        assertTrue(out.contains("p99.9"), out);
        assertTrue(out.contains("tidewire.connections.opened"), out);
        // the same metrics port as README.md and docs/metrics.md, and as serve --help
        assertTrue(out.contains("next: java -jar tidewire-tool.jar serve --port 7000 --metrics-port 9400, then"), out);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(List.of(), Leaks.tidewireThreads()));
    }
}
