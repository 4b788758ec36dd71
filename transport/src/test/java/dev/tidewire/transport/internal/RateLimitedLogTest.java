package dev.tidewire.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** {@link RateLimitedLog} on a clock the test moves: no sleeping. */
class RateLimitedLogTest {
    private static final String KEY = "connect to /127.0.0.1:7000";

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Captured lines = new Captured(Level.DEBUG);
    private final RateLimitedLog log = new RateLimitedLog(lines, now::get, RateLimitedLog.WINDOW,
            RateLimitedLog.MAX_KINDS);

    private record Line(Level level, String message, Throwable thrown) {
    }

    /** A System.Logger that keeps what it is given, enabled from {@code threshold} up. */
    private static final class Captured implements System.Logger {
        final List<Line> lines = new ArrayList<>();
        final Level threshold;

        Captured(Level threshold) {
            this.threshold = threshold;
        }

        @Override
        public String getName() {
            return "test";
        }

        @Override
        public boolean isLoggable(Level level) {
            return level.getSeverity() >= threshold.getSeverity();
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            if (isLoggable(level)) {
                lines.add(new Line(level, msg, thrown));
            }
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            if (isLoggable(level)) {
                lines.add(new Line(level, format, null));
            }
        }

        List<Line> at(Level level) {
            return lines.stream().filter(l -> l.level == level).toList();
        }
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    private void refused(int attempt) {
        log.failure(Level.WARNING, KEY, () -> "cannot connect to /127.0.0.1:7000: refused #" + attempt, null);
    }

    @Test
    void theFirstFailureIsAWarningAndRepeatsWithinTheWindowAreDebugOnly() {
        for (int i = 1; i <= 100; i++) {
            refused(i);
            advance(Duration.ofMillis(250)); // 25 s of a connect retried every 250 ms
        }
        assertEquals(1, lines.at(Level.WARNING).size(), lines.lines.toString());
        assertEquals("cannot connect to /127.0.0.1:7000: refused #1", lines.at(Level.WARNING).get(0).message());
        List<Line> debug = lines.at(Level.DEBUG);
        assertEquals(99, debug.size(), "DEBUG still sees each repeat");
        assertTrue(debug.get(0).message().startsWith("cannot connect to /127.0.0.1:7000: refused #2 (a repeat: WARNING"),
                debug.get(0).message());
        assertEquals(100, log.failures(KEY));
    }

    @Test
    void whenTheWindowHasPassedOneSummaryLineCountsTheRepeats() {
        refused(1);
        for (int i = 2; i <= 120; i++) { // every 250 ms: the 121st comes 30 s after the first
            advance(Duration.ofMillis(250));
            refused(i);
        }
        assertEquals(1, lines.at(Level.WARNING).size(), "119 repeats within 29.75 s: no second line yet");
        advance(Duration.ofMillis(250));
        refused(121);
        List<Line> warnings = lines.at(Level.WARNING);
        assertEquals(2, warnings.size());
        assertEquals(KEY + " failed 120 more times in the last 30 s (last: cannot connect to /127.0.0.1:7000: refused #121)",
                warnings.get(1).message());

        // the next window starts from the summary
        advance(Duration.ofSeconds(29));
        refused(122);
        assertEquals(2, lines.at(Level.WARNING).size());
        advance(Duration.ofSeconds(2));
        refused(123);
        assertEquals(KEY + " failed 2 more times in the last 31 s (last: cannot connect to /127.0.0.1:7000: refused #123)",
                lines.at(Level.WARNING).get(2).message());
    }

    @Test
    void aFailureAfterAQuietWindowIsWrittenAsItselfNotAsASummary() {
        refused(1);
        advance(Duration.ofMinutes(5));
        refused(2);
        List<Line> warnings = lines.at(Level.WARNING);
        assertEquals(2, warnings.size());
        assertEquals("cannot connect to /127.0.0.1:7000: refused #2", warnings.get(1).message());
    }

    @Test
    void recoveryIsOneInfoLineWithTheCountAndTheSpanOfTheOutage() {
        for (int i = 1; i <= 12; i++) {
            refused(i);
            advance(Duration.ofMillis(350));
        }
        assertTrue(log.recovered(KEY, "connected to /127.0.0.1:7000"));
        List<Line> info = lines.at(Level.INFO);
        assertEquals(1, info.size());
        assertEquals("connected to /127.0.0.1:7000 again after 12 failed attempts over 4.2 s", info.get(0).message());
        assertEquals(0, log.failures(KEY));

        assertFalse(log.recovered(KEY, "connected to /127.0.0.1:7000"), "not failing: nothing to report");
        assertFalse(log.recovered("connect to elsewhere:1", "connected to elsewhere:1"));
        assertEquals(1, lines.at(Level.INFO).size());
    }

    @Test
    void aPeerThatFlapsMakesAtMostOneWarningAndOneInfoLinePerWindow() {
        // fails, works, fails, works... every 100 ms for 2 minutes
        for (int i = 1; i <= 1200; i++) {
            refused(i);
            advance(Duration.ofMillis(50));
            log.recovered(KEY, "connected to /127.0.0.1:7000");
            advance(Duration.ofMillis(50));
        }
        int warnings = lines.at(Level.WARNING).size();
        int infos = lines.at(Level.INFO).size();
        assertTrue(warnings >= 4 && warnings <= 5, warnings + " WARNING lines in 120 s");
        assertTrue(infos >= 4 && infos <= 5, infos + " INFO lines in 120 s");
        assertTrue(lines.at(Level.WARNING).get(1).message().startsWith(KEY + " failed 300 more times in the last 30 s"),
                lines.at(Level.WARNING).get(1).message());
        assertEquals(2400 - warnings - infos, lines.at(Level.DEBUG).size(), "every other event at DEBUG");
    }

    @Test
    void expectedFailuresAreDebugForAWindowThenSummarizedIfTheyLast() {
        log.expect(KEY); // the server sent GOAWAY
        for (int i = 1; i <= 10; i++) {
            advance(Duration.ofSeconds(2));
            refused(i);
        }
        assertEquals(0, lines.at(Level.WARNING).size(), "a restart within the window writes no warning");
        log.recovered(KEY, "connected to /127.0.0.1:7000");
        assertEquals(0, lines.at(Level.INFO).size(), "nor an INFO line: the failure was never announced");
        assertTrue(lines.at(Level.DEBUG).get(10).message().startsWith("connected to /127.0.0.1:7000 again after 10"));

        log.expect(KEY);
        for (int i = 11; i <= 30; i++) {
            advance(Duration.ofSeconds(2));
            refused(i);
        }
        List<Line> warnings = lines.at(Level.WARNING);
        assertEquals(1, warnings.size(), "still down after the window: one summary");
        assertTrue(warnings.get(0).message().startsWith(KEY + " failed 15 more times in the last 30 s (last: "),
                warnings.get(0).message());
    }

    @Test
    void kindsAreCountedApartAndTheThrowableTravelsWithTheLine() {
        RuntimeException boom = new IllegalStateException("boom");
        log.failure(Level.ERROR, "timer task", () -> "timer task failed", boom);
        log.failure(Level.ERROR, "timer task", () -> "timer task failed", boom);
        refused(1);
        assertEquals(1, lines.at(Level.ERROR).size());
        assertSame(boom, lines.at(Level.ERROR).get(0).thrown());
        assertSame(boom, lines.at(Level.DEBUG).get(0).thrown(), "DEBUG sees the repeat's throwable too");
        assertEquals(1, lines.at(Level.WARNING).size(), "another kind is not held back by the first");
        assertEquals(2, log.kinds());
    }

    @Test
    void messagesAreBuiltOnlyForLinesThatAreWritten() {
        Captured warningsOnly = new Captured(Level.WARNING);
        RateLimitedLog quiet = new RateLimitedLog(warningsOnly, now::get, RateLimitedLog.WINDOW, 8);
        AtomicInteger built = new AtomicInteger();
        Supplier<String> message = () -> "built " + built.incrementAndGet();
        for (int i = 0; i < 1000; i++) {
            quiet.failure(Level.WARNING, KEY, message, null);
        }
        assertEquals(1, built.get());
        assertEquals(1, warningsOnly.lines.size());
    }

    @Test
    void theTableOfKindsIsBoundedWhateverThePeerVaries() {
        RateLimitedLog small = new RateLimitedLog(lines, now::get, Duration.ofSeconds(30), 4);
        for (int port = 1; port <= 1000; port++) {
            small.failure(Level.WARNING, "read from /10.0.0.1:" + port, () -> "reading failed", null);
        }
        assertTrue(small.kinds() <= 5, small.kinds() + " kinds");
        assertEquals(5, lines.at(Level.WARNING).size(), "4 kinds, then one line for all the others");
        assertTrue(lines.at(Level.DEBUG).size() == 995);

        advance(Duration.ofSeconds(31)); // the old kinds have been quiet for a window: forgotten for new ones
        small.failure(Level.WARNING, "read from /10.0.0.2:1", () -> "reading failed", null);
        assertEquals(6, lines.at(Level.WARNING).size());
        assertTrue(small.kinds() <= 5);
    }

    @Test
    void durationsReadNaturally() {
        assertEquals("250 ms", RateLimitedLog.duration(TimeUnit.MILLISECONDS.toNanos(250)));
        assertEquals("4.2 s", RateLimitedLog.duration(TimeUnit.MILLISECONDS.toNanos(4_200)));
        assertEquals("30 s", RateLimitedLog.duration(TimeUnit.SECONDS.toNanos(30)));
        assertEquals("3 min 5 s", RateLimitedLog.duration(TimeUnit.SECONDS.toNanos(185)));
        assertEquals("2 min", RateLimitedLog.duration(TimeUnit.SECONDS.toNanos(120)));
    }
}
