package dev.tidewire.client.compat;

/**
 * A child JVM of {@link NoMicrometerTest}: the README's calls with the client's and the server's
 * defaults, on a class path without Micrometer.
 */
public final class PlainCallsMain {
    private PlainCallsMain() {
    }

    /** Prints whether Micrometer is on the class path, then makes the calls; exits 0 when all went well. */
    public static void main(String[] args) {
        CompatCalls.exit(() -> {
            boolean micrometer = CompatCalls.present("io.micrometer.core.instrument.MeterRegistry")
                    || CompatCalls.present("io.micrometer.observation.ObservationRegistry");
            System.out.println("micrometer: " + (micrometer ? "present" : "absent"));
            CompatCalls.run(server -> server, client -> client);
        });
    }
}
