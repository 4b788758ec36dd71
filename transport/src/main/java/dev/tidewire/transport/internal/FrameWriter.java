package dev.tidewire.transport.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Serializes and coalesces writes to one socket without a writer thread.
 *
 * <p>Every writer enqueues its frame, then tries to become the <em>combiner</em> by winning the
 * {@code writing} flag. The combiner drains the whole queue into one buffer and hands it to the
 * socket in as few {@code write} calls as the buffer allows, then releases the flag and looks
 * again. Threads that lose the race return at once: their frame goes out in the combiner's batch.
 * Under load many frames share one syscall and no thread is woken to write; when idle a frame goes
 * out immediately on the caller's thread.
 *
 * <p>Invariants: {@code buffer}, {@code frames} and {@code writes} belong to the thread holding
 * {@code writing}. The queue is never left non-empty with the flag free: a thread that releases
 * the flag re-checks the queue, and a thread that enqueues tries the flag afterwards.
 * After {@link #fail} every item still queued, or queued later, is {@link Outbound#abandon abandoned}.
 */
public final class FrameWriter {
    private final OutputStream out;
    private final ConcurrentLinkedQueue<Outbound> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final ByteBuffer buffer;
    private final Consumer<IOException> onIoFailure;
    private final AtomicLong framesWritten = new AtomicLong();
    private final AtomicLong socketWrites = new AtomicLong();
    private volatile boolean failed;

    /**
     * @param out         the socket's stream; only the combiner writes to it
     * @param bufferSize  coalescing buffer in bytes; larger frames are written on their own
     * @param onIoFailure called once, on the combiner's thread, when a socket write fails
     */
    public FrameWriter(OutputStream out, int bufferSize, Consumer<IOException> onIoFailure) {
        this.out = out;
        this.buffer = ByteBuffer.allocate(bufferSize);
        this.onIoFailure = onIoFailure;
    }

    /** Queues {@code item} and writes it, with whatever else is queued, unless another thread is writing. */
    public void write(Outbound item) {
        queue.offer(item);
        drain();
    }

    /** Queues {@code item} without writing; a later {@link #flush()} (from any thread) sends it. */
    public void enqueue(Outbound item) {
        queue.offer(item);
    }

    /** Writes whatever is queued, unless another thread is already writing (it will send it). */
    public void flush() {
        drain();
    }

    /**
     * Runs {@code action} on the writer thread once every item queued before it has been handed to
     * the socket (or abandoned). Used to close a socket only after the last reply went out.
     */
    public void writeThen(Runnable action) {
        queue.offer(new Barrier(action));
        drain();
    }

    /** Stops writing: everything queued now or later is abandoned. Safe from any thread. */
    public void fail() {
        failed = true;
        drain();
    }

    /** Visits queued items (for deadline sweeps); weakly consistent, safe alongside writers. */
    public Iterator<Outbound> queued() {
        return queue.iterator();
    }

    /** Whether nothing is queued and no thread is writing. */
    public boolean isIdle() {
        return queue.isEmpty() && !writing.get();
    }

    /** Frames handed to the socket so far. */
    public long framesWritten() {
        return framesWritten.get();
    }

    /** Socket write calls so far; {@code framesWritten / socketWrites} is the coalescing factor. */
    public long socketWrites() {
        return socketWrites.get();
    }

    private void drain() {
        while (!queue.isEmpty() && writing.compareAndSet(false, true)) {
            try {
                writeQueued();
            } finally {
                writing.set(false);
            }
        }
    }

    // Runs only on the thread holding `writing`.
    private void writeQueued() {
        Outbound item;
        long frames = 0;
        while ((item = queue.poll()) != null) {
            if (item instanceof Barrier barrier) {
                try {
                    flushBuffer();
                } catch (IOException e) {
                    failOnIo(e);
                }
                barrier.action.run();
                continue;
            }
            if (failed) {
                item.abandon();
                continue;
            }
            if (!item.prepare()) {
                continue;
            }
            int length = item.encodedLength();
            try {
                if (length > buffer.remaining()) {
                    flushBuffer();
                }
                if (length > buffer.capacity()) {
                    ByteBuffer large = ByteBuffer.allocate(length);
                    item.encodeTo(large);
                    socketWrites.incrementAndGet();
                    out.write(large.array(), 0, length);
                } else {
                    item.encodeTo(buffer);
                }
                frames++;
            } catch (IOException e) {
                failOnIo(e);
            }
        }
        try {
            flushBuffer();
        } catch (IOException e) {
            failOnIo(e);
        }
        if (frames > 0) {
            framesWritten.addAndGet(frames);
        }
    }

    private void flushBuffer() throws IOException {
        if (buffer.position() > 0 && !failed) {
            socketWrites.incrementAndGet();
            out.write(buffer.array(), 0, buffer.position());
        }
        buffer.clear();
    }

    private void failOnIo(IOException e) {
        buffer.clear();
        if (!failed) {
            failed = true;
            onIoFailure.accept(e);
        }
    }

    private record Barrier(Runnable action) implements Outbound {
        @Override
        public boolean prepare() {
            return false;
        }

        @Override
        public int encodedLength() {
            return 0;
        }

        @Override
        public void encodeTo(ByteBuffer out) {
        }

        @Override
        public void abandon() {
            action.run();
        }
    }
}
