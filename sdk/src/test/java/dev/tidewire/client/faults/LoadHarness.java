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
 * are not the caller's own (misroutes), replies that are not what was sent (corrupted successes),
 * calls that ended later than their deadline plus a grace (and the worst overshoot past the
 * deadline), and anything that is not a {@link TidewireException} ("untyped"). Loops are bounded
 * in count and time; {@link #stop()} ends them.
 *
 * <p>Each request carries its id ({@code caller}, {@code i}) and {@code sum}, a CRC32 of its
 * other fields. A reply equal to the request is a success. Any other reply is either some other
 * call's intact request ({@code sum} matches its own fields, id differs): misrouted; or a changed
 * one (its {@code sum} no longer matches, or the id is ours but something else changed):
 * corrupted. So a flipped byte is never mistaken for a misroute, nor the reverse.
 *
 * <p>{@link #markHeal()} starts a recovery measurement: {@link #firstOkAfterHeal()} is when the
 * first call that succeeded after the mark ended.
 */
final class LoadHarness implements AutoCloseable {
    private final TidewireClient client;
    private final int callers;
    private final Duration timeout;      // the longest per-call timeout
    private final Duration minTimeout;   // per-call timeouts are drawn from [minTimeout, timeout]
    private final Duration grace;
    private final int maxSleepMillis;
    private final ExecutorService pool;
    private final List<Future<?>> running = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong misrouted = new AtomicLong();
    private final AtomicLong corrupted = new AtomicLong();
    private final AtomicLong late = new AtomicLong();
    private final AtomicLong longest = new AtomicLong();
    private final AtomicLong worstOvershoot = new AtomicLong(Long.MIN_VALUE);   // took - own timeout, ns
    private final AtomicLong windowOvershoot = new AtomicLong(Long.MIN_VALUE);  // the same since resetWindow()
    private volatile HealMark heal;
    private volatile long pauseAfterErrorMillis;
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, String> examples = new ConcurrentHashMap<>();
    private final Map<String, Long> firstSeen = new ConcurrentHashMap<>();

    /**
     * @param maxSleepMillis 0 sends only {@code echo}; otherwise half the calls are {@code sleep}
     *                       of 0..maxSleepMillis ms (a random server delay)
     */
    LoadHarness(TidewireClient client, int callers, Duration timeout, Duration grace, int maxSleepMillis) {
        this(client, callers, timeout, timeout, grace, maxSleepMillis);
    }

    /**
     * Each call gets its own timeout, uniform in {@code [minTimeout, maxTimeout]} (milliseconds);
     * lateness is judged against the call's own timeout.
     */
    LoadHarness(TidewireClient client, int callers, Duration minTimeout, Duration maxTimeout, Duration grace,
            int maxSleepMillis) {
        if (minTimeout.compareTo(maxTimeout) > 0) {
            throw new IllegalArgumentException("minTimeout > maxTimeout");
        }
        this.client = client;
        this.callers = callers;
        this.minTimeout = minTimeout;
        this.timeout = maxTimeout;
        this.grace = grace;
        this.maxSleepMillis = maxSleepMillis;
        this.pool = Executors.newFixedThreadPool(callers, r -> {
            Thread t = new Thread(r, "load-caller");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * After a call fails, its caller waits this long before the next (as a user's retry loop
     * would), so 64 callers facing a fast-failing outage do not spin the 2 cores; 0 (default): no pause.
     */
    LoadHarness pauseAfterError(Duration pause) {
        this.pauseAfterErrorMillis = pause.toMillis();
        return this;
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
        CallOptions fixed = CallOptions.timeout(timeout);
        long minMillis = minTimeout.toMillis();
        long maxMillis = timeout.toMillis();
        for (int i = 0; i < 10_000_000 && !stop.get(); i++) {
            ObjectNode request = JsonNodeFactory.instance.objectNode()
                    .put("caller", caller).put("i", i).put("val", Long.toHexString(random.nextLong()));
            String op = "echo";
            if (maxSleepMillis > 0 && random.nextBoolean()) {
                op = "sleep";
                request.put("millis", random.nextInt(maxSleepMillis + 1));
            }
            request.put("sum", sum(request));
            CallOptions options = fixed;
            long timeoutNanos = timeout.toNanos();
            if (minMillis < maxMillis) {
                long millis = minMillis + random.nextLong(maxMillis - minMillis + 1);
                options = CallOptions.timeout(Duration.ofMillis(millis));
                timeoutNanos = TimeUnit.MILLISECONDS.toNanos(millis);
            }
            boolean failed = false;
            String outcome = "ok";
            long start = System.nanoTime();
            try {
                JsonNode reply = client.call(op, request, JsonNode.class, options);
                long end = System.nanoTime();
                if (request.equals(reply)) {
                    ok.incrementAndGet();
                    HealMark mark = heal;
                    if (mark != null && end >= mark.at) {
                        mark.firstOk.compareAndSet(0, end);
                    }
                } else if (intact(reply) && !(reply.path("caller").asInt(-1) == caller && reply.path("i").asInt(-1) == i)) {
                    misrouted.incrementAndGet();
                    examples.putIfAbsent("misrouted", request + " -> " + reply);
                } else {
                    corrupted.incrementAndGet();
                    examples.putIfAbsent("corrupted", request + " -> " + reply);
                }
            } catch (TidewireException e) {
                failed = true;
                String type = e.getClass().getSimpleName();
                outcome = type + ": " + e.getMessage();
                errors.computeIfAbsent(type, k -> new LongAdder()).increment();
                examples.putIfAbsent(type, e.getMessage());
                firstSeen.putIfAbsent(type, System.nanoTime());
            } catch (RuntimeException e) {
                failed = true;
                outcome = e.toString();
                errors.computeIfAbsent("untyped:" + e.getClass().getSimpleName(), k -> new LongAdder()).increment();
                examples.putIfAbsent("untyped", e.toString());
            }
            long took = System.nanoTime() - start;
            longest.accumulateAndGet(took, Math::max);
            worstOvershoot.accumulateAndGet(took - timeoutNanos, Math::max);
            windowOvershoot.accumulateAndGet(took - timeoutNanos, Math::max);
            if (took > timeoutNanos + grace.toNanos()) {
                late.incrementAndGet();
                examples.putIfAbsent("late", TimeUnit.NANOSECONDS.toMillis(took) + " ms with a "
                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms timeout, ended " + outcome);
            }
            long pause = pauseAfterErrorMillis;
            if (failed && pause > 0) {
                try {
                    TimeUnit.MILLISECONDS.sleep(pause); // pacing a caller's retry after an error, as users do
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * CRC32 (hex text: JSON numbers would come back as int or long nodes, which are not equal) of
     * a request's fields other than {@code sum}, in a fixed order, and of how many there are.
     */
    private static String sum(JsonNode body) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        int fields = body.size() - (body.has("sum") ? 1 : 0);
        String text = body.path("caller").asText() + "|" + body.path("i").asText() + "|" + body.path("val").asText()
                + "|" + body.path("millis").asText() + "|" + fields;
        crc.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Long.toHexString(crc.getValue());
    }

    /** True if {@code reply} looks like some request sent unchanged: its {@code sum} matches its fields. */
    private static boolean intact(JsonNode reply) {
        return reply != null && reply.isObject() && reply.path("sum").isTextual()
                && reply.path("sum").asText().equals(sum(reply)) && reply.path("val").isTextual()
                && reply.path("caller").isInt() && reply.path("i").isInt();
    }

    /** Starts a recovery measurement now (the fault just healed); returns the mark's {@link System#nanoTime()}. */
    long markHeal() {
        HealMark mark = new HealMark(System.nanoTime());
        heal = mark;
        return mark.at;
    }

    /** When ({@link System#nanoTime()}) the first call that succeeded after the last {@link #markHeal()} ended; 0 if none yet. */
    long firstOkAfterHeal() {
        HealMark mark = heal;
        return mark == null ? 0 : mark.firstOk.get();
    }

    private record HealMark(long at, AtomicLong firstOk) {
        HealMark(long at) {
            this(at, new AtomicLong());
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

    /** Calls that "succeeded" with a reply that was not what they sent (and not another call's). */
    long corrupted() {
        return corrupted.get();
    }

    /** The most any call ended past its own timeout so far (negative: all ended before it). */
    Duration worstOvershoot() {
        long w = worstOvershoot.get();
        return w == Long.MIN_VALUE ? Duration.ZERO : Duration.ofNanos(w);
    }

    /** The worst overshoot among calls ended since the last call of this method, and starts a new window. */
    Duration resetWindow() {
        long w = windowOvershoot.getAndSet(Long.MIN_VALUE);
        return w == Long.MIN_VALUE ? Duration.ZERO : Duration.ofNanos(w);
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
        return "ok=" + ok + ", errors=" + errors() + ", misrouted=" + misrouted + ", corrupted=" + corrupted
                + ", late=" + late + ", longest=" + longest().toMillis() + " ms, worst overshoot="
                + worstOvershoot().toMillis() + " ms";
    }

    @Override
    public void close() throws Exception {
        if (!stop.get()) {
            stop();
        }
    }
}
