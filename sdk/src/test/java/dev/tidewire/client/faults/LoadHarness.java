package dev.tidewire.client.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.TidewireException;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Closed-loop load for fault tests: N callers, each sending unique random payloads to {@code echo}
 * or {@code sleep} and checking every outcome. It counts successes, errors by type, replies that
 * are not the caller's own (misroutes), calls that ended later than their deadline plus a grace,
 * and anything that is not a {@link TidewireException} ("untyped"). Loops are bounded in count and
 * time; {@link #stop()} ends them.
 */
final class LoadHarness implements AutoCloseable {
    private final TidewireClient client;
    private final int callers;
    private final Duration timeout;
    private final Duration grace;
    private final int maxSleepMillis;
    private final ExecutorService pool;
    private final List<Future<?>> running = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong misrouted = new AtomicLong();
    private final AtomicLong late = new AtomicLong();
    private final AtomicLong longest = new AtomicLong();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, String> examples = new ConcurrentHashMap<>();
    private final Map<String, Long> firstSeen = new ConcurrentHashMap<>();

    /**
     * @param maxSleepMillis 0 sends only {@code echo}; otherwise half the calls are {@code sleep}
     *                       of 0..maxSleepMillis ms (a random server delay)
     */
    LoadHarness(TidewireClient client, int callers, Duration timeout, Duration grace, int maxSleepMillis) {
        this.client = client;
        this.callers = callers;
        this.timeout = timeout;
        this.grace = grace;
        this.maxSleepMillis = maxSleepMillis;
        this.pool = Executors.newFixedThreadPool(callers, r -> {
            Thread t = new Thread(r, "load-caller");
            t.setDaemon(true);
            return t;
        });
    }

    LoadHarness start() {
        for (int c = 0; c < callers; c++) {
            int caller = c;
            running.add(pool.submit(() -> loop(caller)));
        }
        return this;
    }

    private void loop(int caller) {
        SplittableRandom random = new SplittableRandom(caller * 7919L + System.nanoTime());
        CallOptions options = CallOptions.timeout(timeout);
        for (int i = 0; i < 10_000_000 && !stop.get(); i++) {
            ObjectNode request = JsonNodeFactory.instance.objectNode()
                    .put("caller", caller).put("i", i).put("val", Long.toHexString(random.nextLong()));
            String op = "echo";
            if (maxSleepMillis > 0 && random.nextBoolean()) {
                op = "sleep";
                request.put("millis", random.nextInt(maxSleepMillis + 1));
            }
            long start = System.nanoTime();
            try {
                JsonNode reply = client.call(op, request, JsonNode.class, options);
                if (request.equals(reply)) {
                    ok.incrementAndGet();
                } else {
                    misrouted.incrementAndGet();
                    examples.putIfAbsent("misrouted", request + " -> " + reply);
                }
            } catch (TidewireException e) {
                String type = e.getClass().getSimpleName();
                errors.computeIfAbsent(type, k -> new LongAdder()).increment();
                examples.putIfAbsent(type, e.getMessage());
                firstSeen.putIfAbsent(type, System.nanoTime());
            } catch (RuntimeException e) {
                errors.computeIfAbsent("untyped:" + e.getClass().getSimpleName(), k -> new LongAdder()).increment();
                examples.putIfAbsent("untyped", e.toString());
            }
            long took = System.nanoTime() - start;
            longest.accumulateAndGet(took, Math::max);
            if (took > timeout.plus(grace).toNanos()) {
                late.incrementAndGet();
            }
        }
    }

    /** Stops the callers and waits for them (each ends by its call's deadline). */
    void stop() throws Exception {
        stop.set(true);
        for (Future<?> f : running) {
            f.get(timeout.plus(grace).toMillis() + 30_000, TimeUnit.MILLISECONDS);
        }
        pool.shutdownNow();
    }

    long ok() {
        return ok.get();
    }

    long misrouted() {
        return misrouted.get();
    }

    long late() {
        return late.get();
    }

    Duration longest() {
        return Duration.ofNanos(longest.get());
    }

    long errors(String type) {
        LongAdder a = errors.get(type);
        return a == null ? 0 : a.sum();
    }

    long totalErrors() {
        return errors.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Error counts by exception type, sorted. */
    Map<String, Long> errors() {
        Map<String, Long> m = new TreeMap<>();
        errors.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /** {@link System#nanoTime()} when an error of this type first ended a call, or null. */
    Long firstSeen(String type) {
        return firstSeen.get(type);
    }

    Map<String, String> examples() {
        return examples;
    }

    @Override
    public String toString() {
        return "ok=" + ok + ", errors=" + errors() + ", misrouted=" + misrouted + ", late=" + late
                + ", longest=" + longest().toMillis() + " ms";
    }

    @Override
    public void close() throws Exception {
        if (!stop.get()) {
            stop();
        }
    }
}
