package dev.tidewire.transport.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;

/**
 * A thread blocked on a call's future ({@link #get}), and how the event loop wakes such threads:
 * after the read that completed their calls, together, with the threads it wakes helping.
 *
 * <p><b>Why.</b> Waking a parked thread costs its waker a futex system call and the scheduler's
 * work (on a virtual machine often an inter-processor interrupt), and the thread woken often
 * preempts its waker at once. Made by the event loop as each reply was decoded, those wakes were
 * about two thirds of the loop's CPU time under blocking load (64 callers, 2 cores), and each
 * preemption left the rest of the read, and the wakes of its other replies, waiting for the loop
 * to run again. Now a read's replies are all settled first; the callers they complete are noted
 * ({@link Relay}) and woken when the read has been decoded, by the loop, one after another; and
 * each caller woken claims up to {@link #FAN_OUT} of the wakes not yet made and makes them before
 * it returns to its application. If the loop is preempted by the first caller it wakes, that
 * caller and those it wakes carry on; the loop makes whatever is left when it runs again. Every
 * caller is woken by the loop or by a helper, never later than the loop alone would wake it.
 *
 * <p><b>States.</b> {@code state} moves once, by CAS, from WAITING to RELEASED (the future
 * completed; the completing thread wakes the caller, or, on an event loop inside a read, leaves
 * the wake to the end of that read) or to GONE (the caller stopped waiting first: interrupted, or
 * past its time; it cancels the call, and a completion that comes after wakes nobody). A caller
 * released returns the future's outcome even if it was interrupted meanwhile (the flag stays set),
 * as {@link CompletableFuture#get} does.
 *
 * <p><b>Threads.</b> Only the caller parks, and only in {@link #get}: never on an event loop (a
 * blocking call is refused there), never inside a monitor, so a virtual thread unmounts instead of
 * pinning its carrier. The event loop never waits here: noting a caller is a CAS and an array
 * store, waking it an {@code unpark}. A caller may receive an {@code unpark} after it stopped
 * waiting (it woke early, or a helper's claim reached it late): a spurious wake-up, which
 * {@link LockSupport#park}'s contract allows and every park in Tidewire re-checks.
 */
public final class BlockingWait implements BiConsumer<Object, Throwable> {
    /** How many wakes a caller woken from a read's batch makes for the others before it goes on. */
    static final int FAN_OUT = 2;

    private static final int WAITING = 0;
    private static final int RELEASED = 1;
    private static final int GONE = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(BlockingWait.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread thread;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    /** The batch of wakes this caller helps with once it runs; set by the loop at the end of the read. */
    private volatile Batch batch;

    private BlockingWait(Thread thread) {
        this.thread = thread;
    }

    /**
     * {@link CompletableFuture#get(long, java.util.concurrent.TimeUnit)}, with the same contract
     * (the time in nanoseconds), for a caller that blocks on a call: the event loop wakes it as
     * the class comment describes.
     *
     * @throws InterruptedException if the thread was interrupted before the future completed (the
     *                              interrupt flag is then clear, as {@code get} leaves it)
     * @throws TimeoutException     if {@code timeoutNanos} passed first
     */
    public static <T> T get(CompletableFuture<T> future, long timeoutNanos)
            throws InterruptedException, ExecutionException, TimeoutException {
        if (future.isDone()) {
            return future.get();
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        BlockingWait w = new BlockingWait(Thread.currentThread());
        future.whenComplete(w); // runs w.accept here and now if the future completed meanwhile
        long end = System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        while ((int) STATE.getVolatile(w) == WAITING) {
            long remaining = end - System.nanoTime();
            if (interrupted || remaining <= 0) {
                if (STATE.compareAndSet(w, WAITING, GONE)) {
                    if (interrupted) {
                        throw new InterruptedException();
                    }
                    throw new TimeoutException();
                }
                break; // released meanwhile
            }
            LockSupport.parkNanos(w, remaining);
            interrupted = Thread.interrupted();
        }
        w.help();
        if (interrupted) {
            Thread.currentThread().interrupt(); // completed first: the outcome, with the flag set
        }
        return future.get(); // complete: returns or throws at once
    }

    /** The future completed (the completing thread): wake the caller now, or at the end of the loop's read. */
    @Override
    public void accept(Object value, Throwable error) {
        if (!STATE.compareAndSet(this, WAITING, RELEASED)) {
            return; // the caller is gone
        }
        Relay relay = NettyRuntime.currentRelay();
        if (relay != null && relay.open()) {
            relay.add(this);
        } else if (thread != Thread.currentThread()) {
            LockSupport.unpark(thread);
        }
    }

    /** The caller, released: makes up to {@link #FAN_OUT} of its batch's wakes not yet made. */
    private void help() {
        Batch b = batch;
        if (b == null) {
            return; // woken directly, or before its read ended (the loop then wakes the others)
        }
        batch = null;
        for (int made = 0; made < FAN_OUT; ) {
            BlockingWait next = b.claim();
            if (next == null) {
                return;
            }
            if (next != this) {
                LockSupport.unpark(next.thread);
                made++;
            }
        }
    }

    /** The callers one read completed, and which of them have been claimed for a wake. */
    private static final class Batch {
        private final BlockingWait[] waiters;
        private final AtomicInteger next = new AtomicInteger();

        Batch(BlockingWait[] waiters) {
            this.waiters = waiters;
        }

        /** The next caller to wake, each exactly once, or null when all have been claimed. */
        BlockingWait claim() {
            int i = next.getAndIncrement();
            return i < waiters.length ? waiters[i] : null;
        }
    }

    /**
     * The callers an event loop's current read completes, confined to that loop. The reader opens
     * it before decoding a buffer and ends it once the buffer is decoded (in a {@code finally}):
     * only then are those callers woken.
     */
    static final class Relay {
        private BlockingWait[] released = new BlockingWait[16];
        private int size;
        private int depth;

        boolean open() {
            return depth > 0;
        }

        void begin() {
            depth++;
        }

        /** Ends a read: wakes every caller it completed, with the help of those woken first. */
        void end() {
            if (--depth > 0 || size == 0) {
                return;
            }
            int n = size;
            size = 0;
            if (n == 1) {
                BlockingWait only = released[0];
                released[0] = null;
                LockSupport.unpark(only.thread);
                return;
            }
            Batch b = new Batch(Arrays.copyOf(released, n));
            Arrays.fill(released, 0, n, null);
            for (BlockingWait w : b.waiters) {
                w.batch = b;
            }
            // the loop makes every wake unless those it woke made them first
            for (BlockingWait w; (w = b.claim()) != null; ) {
                LockSupport.unpark(w.thread);
            }
        }

        void add(BlockingWait w) {
            if (size == released.length) {
                released = Arrays.copyOf(released, size * 2);
            }
            released[size++] = w;
        }
    }
}
