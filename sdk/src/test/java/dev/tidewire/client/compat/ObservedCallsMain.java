package dev.tidewire.client.compat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A child JVM of {@link MinimumVersionsTest}: the README's calls with client metrics (a
 * {@link SimpleMeterRegistry}) and observations on both sides (an {@link ObservationRegistry} with
 * a counting handler), on whatever Jackson and Micrometer the class path has. Prints the versions
 * it runs on, the request timers and the observations stopped.
 */
public final class ObservedCallsMain {
    private ObservedCallsMain() {
    }

    /** Makes the calls; exits 0 when all went well. */
    public static void main(String[] args) {
        CompatCalls.exit(() -> {
            System.out.println("jackson: core " + com.fasterxml.jackson.core.json.PackageVersion.VERSION
                    + ", databind " + com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION);
            System.out.println("micrometer: core " + MeterRegistry.class.getPackage().getImplementationVersion()
                    + ", observation " + ObservationRegistry.class.getPackage().getImplementationVersion());
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            Map<String, AtomicInteger> stopped = new ConcurrentHashMap<>();
            CountDownLatch allStopped = new CountDownLatch(5); // 3 client calls, 2 served (no observation for an unknown op)
            ObservationRegistry observations = ObservationRegistry.create();
            observations.observationConfig().observationHandler(new ObservationHandler<Observation.Context>() {
                @Override
                public boolean supportsContext(Observation.Context context) {
                    return true;
                }

                @Override
                public void onStop(Observation.Context context) {
                    stopped.computeIfAbsent(context.getName(), k -> new AtomicInteger()).incrementAndGet();
                    allStopped.countDown();
                }
            });
            CompatCalls.run(server -> server.observationRegistry(observations),
                    client -> client.meterRegistry(meters).observationRegistry(observations),
                    client -> {
                        Map<String, Long> timers = new TreeMap<>();
                        for (Timer t : meters.find("tidewire.requests").timers()) {
                            timers.merge(t.getId().getTag("op") + "/" + t.getId().getTag("outcome"), t.count(), Long::sum);
                        }
                        System.out.println("meters: tidewire.requests " + timers);
                    });
            CompatCalls.check(allStopped.await(10, TimeUnit.SECONDS), "observations stopped: " + stopped);
            System.out.println("observations: " + new TreeMap<>(stopped));
        });
    }
}
