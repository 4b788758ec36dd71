package dev.tidewire.transport;

import dev.tidewire.Metadata;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One TCP connection to a Tidewire server that carries many calls at once. Each call is written
 * with a fresh request id and its reply is matched by that id, in whatever order replies come.
 *
 * <pre>{@code
 * try (Connection c = Connection.open(new InetSocketAddress("127.0.0.1", 7000), ConnectionOptions.defaults())) {
 *     byte[] reply = c.call("echo", "{\"val\":\"hi\"}".getBytes(UTF_8), Duration.ofSeconds(1)).join();
 * }
 * }</pre>
 *
 * <p>Every call ends with exactly one outcome: the reply, a {@link dev.tidewire.RemoteException},
 * a {@link dev.tidewire.RequestTimeoutException} at its deadline, cancellation (cancelling the
 * future sends CANCEL to the server), or a connection failure
 * ({@link dev.tidewire.ConnectionLostException}, {@link dev.tidewire.ProtocolException},
 * {@link dev.tidewire.NotProcessedException}, {@link dev.tidewire.ClientClosedException}).
 * Nothing stays behind once a call has ended.
 *
 * <p>Thread-safe. Calls beyond the in-flight limit (the lower of
 * {@link ConnectionOptions#maxInFlight()} and the server's HELLO) wait, in order, within their
 * deadline, as do calls made while the connection's outbound byte budget is full. Socket I/O
 * happens only on the connection's event loop (see {@link TransportResources}); a caller never
 * writes to the socket and never waits for it. The event loop never runs application code: futures
 * complete on the executor passed to {@link #call(String, byte[], Deadline, Executor)}, or on
 * {@link ConnectionOptions#callbackExecutor()}; only a {@code null} executor completes them on the
 * loop, for callers that block on the future.
 */
public interface Connection extends AutoCloseable {

    /** Lifecycle. OPEN accepts calls; DRAINING finishes the calls it has; CLOSED is final. */
    enum State {
        /** Accepts new calls. */
        OPEN,
        /**
         * After {@link #shutdown()} or a GOAWAY from the server: calls already written are answered,
         * new ones fail with {@link dev.tidewire.NotProcessedException}.
         */
        DRAINING,
        /** Final: the socket is closed (or closing) and every call has ended or is failing. */
        CLOSED
    }

    /**
     * Connects, applies the socket options and completes the HELLO exchange within
     * {@link ConnectionOptions#connectTimeout()}.
     *
     * @throws dev.tidewire.ConnectFailedException if the connect or handshake fails or times out
     */
    static Connection open(InetSocketAddress address, ConnectionOptions options, TransportResources resources) {
        return MultiplexedConnection.open(address, options, resources, false);
    }

    /**
     * Starts to connect and returns at once: the future completes (on an event loop) once the
     * connection is open and HELLO exchanged, or fails within {@link ConnectionOptions#connectTimeout()}
     * with the typed error {@link #open(InetSocketAddress, ConnectionOptions, TransportResources)}
     * would throw. Unlike {@code open}, it may be called on any thread, event loops included.
     * Completing or cancelling the future before the connection is made abandons the attempt: its
     * socket is closed, and a connection the handshake finishes later is closed at once.
     */
    @SuppressWarnings("unchecked")
    static CompletableFuture<Connection> connect(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources) {
        // the same future, not a dependent one, so that completing it from outside abandons the attempt
        return (CompletableFuture<Connection>) (CompletableFuture<? extends Connection>)
                MultiplexedConnection.connect(address, options, resources);
    }

    /** As {@link #open(InetSocketAddress, ConnectionOptions, TransportResources)} with resources of its own, closed with it. */
    static Connection open(InetSocketAddress address, ConnectionOptions options) {
        TransportResources resources = TransportResources.create();
        try {
            return MultiplexedConnection.open(address, options, resources, true);
        } catch (RuntimeException e) {
            resources.close();
            throw e;
        }
    }

    /**
     * Sends a request and returns its reply payload (JSON bytes).
     *
     * @param op         operation name, 1..255 bytes of UTF-8
     * @param body       request body, JSON bytes (not copied: do not change it afterwards)
     * @param deadline   when the call must end
     * @param completion where the returned future completes; {@code null} completes it directly
     *                   on the connection's event loop: only for callers that block on the future
     *                   or attach nothing slow to it
     * @return a future that ends with exactly one outcome; cancelling it sends CANCEL
     * @throws IllegalArgumentException if the op name is empty or too long
     */
    default CompletableFuture<byte[]> call(String op, byte[] body, Deadline deadline, Executor completion) {
        return call(op, body, Metadata.EMPTY, deadline, completion);
    }

    /**
     * Like {@link #call(String, byte[], Deadline, Executor)}, with metadata. To a server that
     * announces metadata support ({@link #supportsMetadata()}) the request carries the metadata and
     * the time left until {@code deadline}; to one that does not, it goes without either.
     *
     * @throws IllegalArgumentException if the op name is empty or too long
     * @return a future as for {@code call}; it fails with {@link dev.tidewire.RequestTooLargeException}
     *         (nothing sent) when the metadata exceeds the server's announced limits
     */
    CompletableFuture<byte[]> call(String op, byte[] body, Metadata metadata, Deadline deadline, Executor completion);

    /**
     * Like {@link #call(String, byte[], Deadline, Executor)}, but only queues the request: it goes
     * out with the next {@link #flush()} on this connection (or with any other caller's write).
     * For pools that hand a connection back before doing the socket write. Every {@code enqueue}
     * must be followed by a {@link #flush()}.
     */
    default CompletableFuture<byte[]> enqueue(String op, byte[] body, Deadline deadline, Executor completion) {
        return enqueue(op, body, Metadata.EMPTY, deadline, completion);
    }

    /** {@link #enqueue(String, byte[], Deadline, Executor)} with metadata, as {@link #call(String, byte[], Metadata, Deadline, Executor)} sends it. */
    CompletableFuture<byte[]> enqueue(String op, byte[] body, Metadata metadata, Deadline deadline, Executor completion);

    /**
     * Whether the server's HELLO announced metadata support: requests then carry their metadata
     * and remaining time (protocol.md section 4.6).
     */
    default boolean supportsMetadata() {
        return false;
    }

    /**
     * Has the connection's event loop write every queued request; returns at once. Many flushes
     * before the loop runs share one socket write.
     */
    void flush();

    /** A call with a timeout from now, completing on {@link ConnectionOptions#callbackExecutor()} (or the resources' pool). */
    CompletableFuture<byte[]> call(String op, byte[] body, Duration timeout);

    /** The server's address. */
    InetSocketAddress remoteAddress();

    /** The current lifecycle state. */
    State state();

    /** Calls in flight now (written or about to be, and not yet ended). */
    int inFlight();

    /** The effective in-flight cap: the lower of the option and the server's HELLO. */
    int maxInFlight();

    /**
     * Whether the connection is within its outbound byte budget
     * ({@link ConnectionOptions#outboundBudget()}): false while so many bytes wait for the socket
     * that new calls would have to wait. A pool prefers writable connections.
     */
    default boolean isWritable() {
        return true;
    }

    /**
     * Whether the calling thread is the event loop that does this connection's I/O: a call made
     * there is written in the same loop iteration, with no hand-off to another thread. A pool
     * prefers such a connection for calls made on an event loop.
     */
    default boolean inEventLoop() {
        return false;
    }

    /**
     * Calls that timed out after they were sent since this connection last delivered a reply (0
     * once a reply arrives). A connection whose calls keep timing out while other connections'
     * calls succeed is one the server no longer serves; a pool stops lending it.
     */
    default int timeoutsSinceLastReply() {
        return 0;
    }

    /** {@link System#nanoTime()} when this connection last delivered a reply (or opened, before any). */
    default long lastReplyNanos() {
        return lastReadNanos();
    }

    /** {@link System#nanoTime()} when bytes last arrived from the server. */
    long lastReadNanos();

    /** Counters for this connection. */
    ConnectionStats stats();

    /**
     * Graceful close: new calls are refused, calls already accepted run to their end, then the
     * socket closes. Idempotent.
     *
     * @return completes when the connection is closed
     */
    CompletableFuture<Void> shutdown();

    /**
     * Closes now: every call still pending fails ({@link dev.tidewire.ClientClosedException} if it
     * was written, {@link dev.tidewire.NotProcessedException} if not) and the socket closes.
     * Idempotent. Waits up to 5 s for the event loop to finish the close, never for the peer, and
     * not at all on an event loop.
     */
    @Override
    void close();

    /** Completes when the connection is closed, for any reason; see {@link #closeReason()}. */
    CompletableFuture<Void> closeFuture();

    /** Why the connection closed, or null while it is open. */
    RuntimeException closeReason();
}
