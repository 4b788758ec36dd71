package dev.tidewire.bench;

import dev.tidewire.transport.Deadline;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The connection pool's own cost: one borrow plus one return, with no socket behind it, under
 * 1, 2, 8 and 64 concurrent callers (one benchmark method per thread count, since JMH's
 * {@code @Threads} cannot be a parameter; {@code -t N} on the command line overrides them all).
 *
 * <p>{@code config} selects the pool in front of trivial pooled objects ({@link Token}: one volatile
 * field, validated in nanoseconds like a pooled connection):
 * <ul>
 *   <li>{@code tidewire}: what {@code ConnectionPool.borrow}/{@code giveBack} do, step by step: the
 *       closed check, a fair {@link Semaphore} gate with one permit per object ({@code tryAcquire()},
 *       then a timed {@code tryAcquire} bounded by the call's deadline), the thread-local deadline
 *       hand-off to the factory, {@code borrowObject(Duration)} on a {@link GenericObjectPool}
 *       configured like ConnectionPool's (maxIdle = maxTotal, FIFO, not fair, testOnBorrow with a
 *       local validate, evictor every 30 s, JMX off), the listener's wait-time hook, then
 *       {@code returnObject} and the permit's release. The enqueue of the request, done under the
 *       lease in production, is left out: it is part of the transport's cost.</li>
 *   <li>{@code ungated} (not in the default matrix; {@code -p config=ungated}): the same minus the
 *       semaphore, to isolate what the fair gate costs. With 64 callers and 2 or 8 objects commons-pool2's
 *       barging starves some waiters past the 5 s borrow timeout, and the benchmark fails with
 *       {@code NoSuchElementException}: the failure the gate exists to prevent.</li>
 *   <li>{@code default}: a {@code GenericObjectPool} with {@link GenericObjectPoolConfig} defaults
 *       (LIFO, no validation, JMX on) and the same {@code maxTotal}; plain
 *       {@code borrowObject()}/{@code returnObject}.</li>
 * </ul>
 * {@code size} is maxTotal: 2 and 8, so with 8 and 64 callers there are more callers than objects
 * and callers wait for each other, as they do for connections.
 *
 * <p>Mode: throughput over all threads (ops/µs). {@code 1000 / score} is the machine's time per
 * borrow+return in ns; with T threads on C cores a caller sees about {@code T/C} times that
 * ({@code -bm avgt -tu ns} reports the per-caller time directly).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class PoolBenchmark {
    /** A call's deadline in the client's default configuration (requestTimeout 5 s). */
    static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    /**
     * {@code tidewire} or {@code default}; {@code ungated} on request ({@code -p config=ungated}): with
     * more callers than objects it lets waiters starve past the 5 s borrow timeout (see the class comment).
     */
    @Param({"tidewire", "default"})
    public String config;

    /** The pool's maxTotal (and, for tidewire, the gate's permits). */
    @Param({"2", "8"})
    public int size;

    Borrower borrower;

    @Setup(Level.Trial)
    public void setUp() {
        borrower = switch (config) {
            case "tidewire" -> new TidewireBorrower(size, true);
            case "ungated" -> new TidewireBorrower(size, false);
            case "default" -> new DefaultBorrower(size);
            default -> throw new IllegalArgumentException("config must be tidewire, ungated or default, got '"
                    + config + "'");
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        borrower.close();
    }

    @Benchmark
    @Threads(1)
    public long borrowReturn_t01() {
        return borrower.borrowAndReturn();
    }

    @Benchmark
    @Threads(2)
    public long borrowReturn_t02() {
        return borrower.borrowAndReturn();
    }

    @Benchmark
    @Threads(8)
    public long borrowReturn_t08() {
        return borrower.borrowAndReturn();
    }

    @Benchmark
    @Threads(64)
    public long borrowReturn_t64() {
        return borrower.borrowAndReturn();
    }

    // ------------------------------------------------------------------ pooled objects and pools

    /** The pooled object: as cheap to validate as a pooled connection (a state read and a clock read). */
    static final class Token {
        static final int OPEN = 0;
        final long expiresAtNanos = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
        volatile int state = OPEN;
    }

    /** Makes {@link Token}s; validation mirrors {@code ConnectionFactory.validateObject}. */
    static final class TokenFactory extends BasePooledObjectFactory<Token> {
        /** Stands in for ConnectionFactory's deadline hand-off to a connect on the borrowing thread. */
        final ThreadLocal<Deadline> borrowDeadline = new ThreadLocal<>();

        @Override
        public Token create() {
            return new Token();
        }

        @Override
        public PooledObject<Token> wrap(Token token) {
            return new DefaultPooledObject<>(token);
        }

        @Override
        public boolean validateObject(PooledObject<Token> p) {
            Token t = p.getObject();
            return t.state == Token.OPEN && System.nanoTime() - t.expiresAtNanos < 0;
        }
    }

    /** One borrow and one return; returns something derived from the work so it is not eliminated. */
    interface Borrower extends AutoCloseable {
        long borrowAndReturn();

        /** Objects borrowed and not yet returned (0 between calls). */
        int active();

        @Override
        void close();
    }

    /** ConnectionPool's borrow and giveBack, with or without the fair gate. */
    static final class TidewireBorrower implements Borrower {
        final TokenFactory factory = new TokenFactory();
        final GenericObjectPool<Token> pool;
        final Semaphore permits;
        final boolean gated;
        volatile boolean closed;

        TidewireBorrower(int size, boolean gated) {
            this.gated = gated;
            this.permits = new Semaphore(size, true);
            GenericObjectPoolConfig<Token> c = new GenericObjectPoolConfig<>();
            c.setMaxTotal(size);
            c.setMaxIdle(size);
            c.setMinIdle(0);
            c.setLifo(false);
            c.setFairness(false);
            c.setBlockWhenExhausted(true);
            c.setTestOnBorrow(true);
            c.setTestOnReturn(false);
            c.setTestWhileIdle(true);
            c.setNumTestsPerEvictionRun(size);
            c.setMinEvictableIdleDuration(Duration.ofMinutes(5));
            c.setTimeBetweenEvictionRuns(Duration.ofSeconds(30));
            c.setJmxEnabled(false);
            this.pool = new GenericObjectPool<>(factory, c);
        }

        @Override
        public long borrowAndReturn() {
            if (closed) {
                throw new IllegalStateException("pool closed");
            }
            long start = System.nanoTime();
            Deadline deadline = new Deadline(start, TIMEOUT_NANOS);
            if (gated) {
                try {
                    if (!permits.tryAcquire()
                            && !permits.tryAcquire(Math.max(0, deadline.remainingNanos(start)), TimeUnit.NANOSECONDS)) {
                        throw new IllegalStateException("no permit within " + TIMEOUT_NANOS + " ns");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
            Token token;
            factory.borrowDeadline.set(deadline);
            try {
                token = pool.borrowObject(Duration.ofNanos(Math.max(1, deadline.remainingNanos())));
            } catch (Exception e) {
                if (gated) {
                    permits.release();
                }
                throw new IllegalStateException("borrow failed", e);
            } finally {
                factory.borrowDeadline.remove();
            }
            long waited = System.nanoTime() - start; // ConnectionPool reports this to PoolListener.borrowed
            try {
                pool.returnObject(token);
            } finally {
                if (gated) {
                    permits.release();
                }
            }
            return waited;
        }

        @Override
        public int active() {
            return pool.getNumActive();
        }

        @Override
        public void close() {
            closed = true;
            pool.close();
        }
    }

    /** A GenericObjectPool with the library's defaults. */
    static final class DefaultBorrower implements Borrower {
        final GenericObjectPool<Token> pool;

        DefaultBorrower(int size) {
            GenericObjectPoolConfig<Token> c = new GenericObjectPoolConfig<>();
            c.setMaxTotal(size);
            this.pool = new GenericObjectPool<>(new TokenFactory(), c);
        }

        @Override
        public long borrowAndReturn() {
            Token token;
            try {
                token = pool.borrowObject();
            } catch (Exception e) {
                throw new IllegalStateException("borrow failed", e);
            }
            pool.returnObject(token);
            return token.expiresAtNanos;
        }

        @Override
        public int active() {
            return pool.getNumActive();
        }

        @Override
        public void close() {
            pool.close();
        }
    }
}
