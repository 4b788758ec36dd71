package dev.tidewire;

/**
 * The peer broke the wire protocol (bad magic, unknown version or frame type, an oversize frame, a
 * stream cut mid-frame, a reply for an id never issued, a malformed payload). The connection is
 * closed and every call pending on it fails with a {@code ProtocolException} whose cause is the
 * violation; the exception is a corrupted frame ({@link dev.tidewire.protocol.ChecksumMismatchException}),
 * a fault of the network rather than of the peer, whose calls fail with
 * {@link ConnectionLostException} instead. Calls that were written may have been processed, so this is not {@link #retryable()}.
 * Subclasses in {@code dev.tidewire.protocol} name each kind of violation the decoder detects.
 */
public class ProtocolException extends TidewireException {
    /** @param message the violation, as the decoder or connection saw it */
    public ProtocolException(String message) {
        super(message, false, null);
    }

    /**
     * @param message what failed
     * @param cause   the violation or failure underneath, or null
     */
    public ProtocolException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
