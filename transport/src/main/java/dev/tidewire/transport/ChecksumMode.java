package dev.tidewire.transport;

/**
 * Whether a side offers CRC32C frame checksums in its HELLO ({@code docs/protocol.md} 2.4). They
 * are used on a connection, in both directions, only when both HELLOs offer them; a peer that does
 * not know the feature never offers it, so it keeps working without checksums.
 *
 * <pre>{@code
 * ConnectionOptions.builder().tls(tls).checksum(ChecksumMode.ON).build(); // checksums under TLS too
 * }</pre>
 */
public enum ChecksumMode {
    /**
     * The default: offer checksums on plain TCP, not under TLS, whose records already carry a MAC
     * that detects any change to the bytes.
     */
    AUTO,
    /** Always offer checksums, also under TLS. */
    ON,
    /** Never offer checksums. */
    OFF;

    /** Whether this mode offers checksums on a connection with ({@code tls}) or without TLS. */
    public boolean offered(boolean tls) {
        return this == ON || (this == AUTO && !tls);
    }
}
