package dev.tidewire.protocol;

/**
 * Constants of the wire format, version 1.
 *
 * <pre>{@code
 *  0       1       2       3       4                               12              16
 *  +-------+-------+-------+-------+-------------------------------+---------------+---------------
 *  |  'T'  |  'W'  |version| type  |      request id (u64, BE)     | length (u32)  | payload ...
 *  +-------+-------+-------+-------+-------------------------------+---------------+---------------
 *  |<------------------------------ header: 16 bytes ----------------------------->|<- length -->|
 * }</pre>
 *
 * <p>When both HELLOs announce {@code "checksum":"crc32c"}, every later frame in both directions
 * is followed by a 4-byte trailer: the CRC32C (Castagnoli) of its header and payload, big-endian.
 * The length field does not count it.
 *
 * <pre>
 *  +--------------------+----------------------+-----------------------------------+
 *  | header (16 bytes)  | payload (length)     | CRC32C of header + payload (u32)  |
 *  +--------------------+----------------------+-----------------------------------+
 * </pre>
 */
public final class Protocol {
    /** The two magic bytes, 'T' 'W', read as a big-endian unsigned short. */
    public static final int MAGIC = 0x5457;
    /** The only protocol version this implementation speaks. */
    public static final int VERSION = 1;
    /** Bytes in a frame header. */
    public static final int HEADER_LENGTH = 16;
    /** Smallest {@code maxFrameSize} a peer may declare: every HELLO and ERROR must fit. */
    public static final int MIN_MAX_FRAME_SIZE = 4 * 1024;
    /** Largest {@code maxFrameSize} a peer may declare (1 GiB). */
    public static final int MAX_MAX_FRAME_SIZE = 1 << 30;
    /** The limit on a payload before HELLO has been received: 64 KiB. */
    public static final int HANDSHAKE_MAX_FRAME_SIZE = 64 * 1024;
    /** Default {@code maxFrameSize}: 16 MiB. */
    public static final int DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
    /** Bytes in the CRC32C trailer that follows each frame once both HELLOs announced it. */
    public static final int CHECKSUM_LENGTH = 4;
    /** The value of the HELLO field {@code checksum} that announces CRC32C frame trailers. */
    public static final String CHECKSUM_CRC32C = "crc32c";
    /** Longest op name in bytes (its length is one unsigned byte). */
    public static final int MAX_OP_LENGTH = 255;

    private Protocol() {
    }
}
