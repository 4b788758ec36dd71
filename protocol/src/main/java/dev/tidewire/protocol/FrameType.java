package dev.tidewire.protocol;

/**
 * The frame types of protocol version 1 and their one-byte codes on the wire. See
 * {@code docs/protocol.md} for who may send each and what its payload holds.
 */
public enum FrameType {
    /** Handshake; first frame in each direction. Payload: JSON object ({@link Hello}). */
    HELLO(0x01),
    /** Client to server: a call. Payload: op (length-prefixed) then JSON body ({@link RequestPayload}). */
    REQUEST(0x02),
    /** Server to client: the successful reply to the request with the same id. Payload: JSON body. */
    RESPONSE(0x03),
    /** Server to client: a failed reply (id &gt; 0) or a connection-level error (id 0). Payload: JSON ({@link ErrorPayload}). */
    ERROR(0x04),
    /** Either direction: liveness probe; the id is an opaque nonce echoed by the PONG. Empty payload. */
    PING(0x05),
    /** Either direction: answer to a PING, same id. Empty payload. */
    PONG(0x06),
    /** Client to server: the caller gave up on the request with this id. Empty payload. */
    CANCEL(0x07),
    /** Server to client: no new requests; the id is the last request id the server will answer. */
    GOAWAY(0x08),
    /**
     * Client to server: a call with the caller's remaining time and metadata ({@link RequestPayload#decodeExtended}).
     * Sent only to a server whose HELLO announces {@code metadata}.
     */
    REQUEST_EXT(0x09);

    private static final FrameType[] BY_CODE = new FrameType[256];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    FrameType(int code) {
        this.code = code;
    }

    /** The byte that stands for this type on the wire. */
    public int code() {
        return code;
    }

    /** The type for a wire code, or {@code null} if the code is not defined. */
    public static FrameType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
