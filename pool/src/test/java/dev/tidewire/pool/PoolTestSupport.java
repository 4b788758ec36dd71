package dev.tidewire.pool;

import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

final class PoolTestSupport {
    static final ConnectionOptions FAST_CONNECT = ConnectionOptions.builder().connectTimeout(Duration.ofSeconds(2)).build();

    private PoolTestSupport() {
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    static Deadline in(Duration d) {
        return Deadline.after(d);
    }

    /** Counts pool events. */
    static final class CountingListener implements PoolListener {
        final AtomicLong created = new AtomicLong();
        final AtomicLong connectFailed = new AtomicLong();
        final AtomicLong borrows = new AtomicLong();
        final Map<DestroyReason, LongAdder> destroyed = new EnumMap<>(DestroyReason.class);

        CountingListener() {
            for (DestroyReason r : DestroyReason.values()) {
                destroyed.put(r, new LongAdder());
            }
        }

        @Override
        public void connectionCreated() {
            created.incrementAndGet();
        }

        @Override
        public void borrowed(long waitNanos) {
            borrows.incrementAndGet();
        }

        @Override
        public void connectFailed() {
            connectFailed.incrementAndGet();
        }

        @Override
        public void connectionDestroyed(DestroyReason reason) {
            destroyed.get(reason).increment();
        }

        long destroyed(DestroyReason reason) {
            return destroyed.get(reason).sum();
        }
    }
}
