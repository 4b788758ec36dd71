package dev.tidewire.client.compat;

import dev.tidewire.client.TidewireClient;

/**
 * A child JVM of {@link MinimumVersionsTest} on a Jackson older than Tidewire supports: building a
 * client must fail at once with an {@link IllegalStateException} that names the versions.
 */
public final class TooOldJacksonMain {
    private TooOldJacksonMain() {
    }

    /** Exits 0 when the builder refused with the expected message. */
    public static void main(String[] args) {
        CompatCalls.exit(() -> {
            System.out.println("jackson: databind " + com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION);
            try {
                TidewireClient.builder().address("127.0.0.1:7000").build().close();
                throw new AssertionError("a client was built on Jackson "
                        + com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION);
            } catch (IllegalStateException e) {
                System.out.println("refused: " + e.getMessage()); // what the test matches
            }
        });
    }
}
