package dev.tidewire;

import java.time.Duration;

/** Formats durations for messages: {@code 1.5 s}, {@code 250 ms}, {@code 0.042 ms}. */
final class Durations {
    private Durations() {
    }

    static String format(Duration d) {
        long nanos = d.toNanos();
        if (nanos >= 10_000_000_000L) {
            return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
        }
        if (nanos >= 1_000_000L) {
            return String.format(java.util.Locale.ROOT, "%d ms", nanos / 1_000_000L);
        }
        return String.format(java.util.Locale.ROOT, "%.3f ms", nanos / 1e6);
    }
}
