package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/**
 * A frame's CRC32C trailer does not match its header and payload: bytes were changed in transit
 * (a faulty NIC, middlebox or memory). Raised only on a connection where both HELLOs announced
 * {@code "checksum":"crc32c"} ({@code docs/protocol.md} 2.4). The frame is not delivered and the
 * stream is failed. On the Java client the calls pending on the connection fail with
 * {@link dev.tidewire.ConnectionLostException} (the fault is the network's, not the peer's); the
 * reference server answers with ERROR code {@link ErrorCode#CHECKSUM_MISMATCH} and closes.
 */
public class ChecksumMismatchException extends ProtocolException {
    /**
     * @param message what was received and what was computed
     */
    public ChecksumMismatchException(String message) {
        super(message);
    }
}
