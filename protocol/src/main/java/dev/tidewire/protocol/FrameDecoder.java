package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Incremental frame decoder: a pure state machine that turns bytes into {@link Frame}s. Bytes may
 * arrive in any split: one byte per call, or many frames in one buffer. Each complete frame is
 * handed to the sink as soon as its last byte is consumed.
 *
 * <p>Checks, each raising a typed {@link ProtocolException} subclass as early as the bytes allow:
 * <ul>
 *   <li>the first two bytes of every frame must be the magic {@code 'T' 'W'} ({@link BadMagicException});</li>
 *   <li>the version byte must be {@link Protocol#VERSION} ({@link UnsupportedVersionException});</li>
 *   <li>the type byte must name a {@link FrameType} ({@link UnknownFrameTypeException});</li>
 *   <li>the declared payload length must not exceed {@link #maxFrameSize()}: it is checked before
 *       any payload buffer is allocated ({@link FrameTooLargeException});</li>
 *   <li>with {@link #checksum(boolean) checksums on}, the 4-byte trailer after the payload must be
 *       the CRC32C of the header and payload, else {@link ChecksumMismatchException}: the frame
 *       is not handed to the sink;</li>
 *   <li>{@link #endOfStream()} in the middle of a frame raises {@link TruncatedFrameException}.</li>
 * </ul>
 * The checksum is computed as the bytes arrive (header once complete, then each payload piece as
 * it is copied into its chunk), so checking it costs no extra pass and no extra copy; the JDK's
 * {@link CRC32C} uses the CPU's CRC32 instructions where there are any.
 * Memory follows the bytes that arrived, never the length a peer declares: a payload is gathered
 * in chunks of at most {@link #CHUNK} bytes, each allocated only when bytes for it arrive, and
 * joined into one array when the frame is complete. So a header declaring 16 MiB followed by
 * silence costs at most one chunk, however many connections do it.
 *
 * <p>After an error the decoder is <em>failed</em>: the stream has lost framing and cannot be resumed,
 * so every later call rethrows the same exception.
 *
 * <p>Not thread-safe: one decoder belongs to one reader thread.
 */
public final class FrameDecoder {
    /** The largest buffer allocated for a payload before its bytes have arrived: 64 KiB. */
    public static final int CHUNK = 64 * 1024;

    private final byte[] header = new byte[Protocol.HEADER_LENGTH];
    private int headerFilled;
    private FrameType type;
    private long requestId;
    private int payloadLength;          // declared length of the frame being read; 0 between frames
    private byte[] chunk;               // the chunk being filled, or null between frames
    private int chunkFilled;
    private byte[][] fullChunks = new byte[4][];   // earlier chunks of a payload larger than CHUNK
    private int fullChunkCount;
    private int payloadFilled;
    private int maxFrameSize;
    private final CRC32C crc = new CRC32C();
    private final byte[] trailer = new byte[Protocol.CHECKSUM_LENGTH];
    private boolean checksum;           // frames carry a CRC32C trailer (changed only between frames)
    private boolean inTrailer;          // the payload is complete; reading its trailer
    private int trailerFilled;
    private ProtocolException failure;
    private int largestAllocation;
    private long framesDecoded;

    /**
     * @param maxFrameSize the largest payload length accepted, in bytes
     *                     ({@link Protocol#MIN_MAX_FRAME_SIZE} .. {@link Protocol#MAX_MAX_FRAME_SIZE}, or smaller for tests)
     */
    public FrameDecoder(int maxFrameSize) {
        maxFrameSize(maxFrameSize);
    }

    /** The largest payload length this decoder accepts. */
    public int maxFrameSize() {
        return maxFrameSize;
    }

    /** Changes the limit, e.g. from the handshake limit to the configured one after HELLO. */
    public void maxFrameSize(int maxFrameSize) {
        if (maxFrameSize < 0) {
            throw new IllegalArgumentException("maxFrameSize must be >= 0: " + maxFrameSize);
        }
        this.maxFrameSize = maxFrameSize;
    }

    /** Whether frames must carry a CRC32C trailer ({@code docs/protocol.md} 2.4). Off at first. */
    public boolean checksum() {
        return checksum;
    }

    /**
     * Turns the CRC32C trailer check on or off from the next frame on: after HELLO when both
     * sides announced it. Call it between frames, e.g. from the sink that received the HELLO.
     *
     * @throws IllegalStateException if a frame is partly decoded
     */
    public void checksum(boolean checksum) {
        if (headerFilled != 0) {
            throw new IllegalStateException("the checksum setting changes only between frames");
        }
        this.checksum = checksum;
    }

    /**
     * Consumes every remaining byte of {@code in} and hands each completed frame to {@code sink}.
     *
     * @throws ProtocolException on a protocol violation (the decoder is failed from then on)
     */
    public void decode(ByteBuffer in, Consumer<? super Frame> sink) {
        if (failure != null) {
            throw failure;
        }
        while (in.hasRemaining()) {
            if (inTrailer) {
                int n = Math.min(Protocol.CHECKSUM_LENGTH - trailerFilled, in.remaining());
                in.get(trailer, trailerFilled, n);
                trailerFilled += n;
                if (trailerFilled == Protocol.CHECKSUM_LENGTH) {
                    verifyChecksum();
                    emit(sink, chunk == null ? null : joinPayload());
                }
            } else if (chunk == null) {
                int n = Math.min(Protocol.HEADER_LENGTH - headerFilled, in.remaining());
                in.get(header, headerFilled, n);
                int before = headerFilled;
                headerFilled += n;
                checkHeaderPrefix(before);
                if (headerFilled < Protocol.HEADER_LENGTH) {
                    return;
                }
                startPayload(sink);
            } else {
                if (chunkFilled == chunk.length) {
                    nextChunk();
                }
                int n = Math.min(chunk.length - chunkFilled, in.remaining());
                in.get(chunk, chunkFilled, n);
                if (checksum) {
                    crc.update(chunk, chunkFilled, n);
                }
                chunkFilled += n;
                payloadFilled += n;
                if (payloadFilled == payloadLength) {
                    if (checksum) {
                        inTrailer = true; // emitted once the trailer has matched
                    } else {
                        emit(sink, joinPayload());
                    }
                }
            }
        }
    }

    /**
     * Signals that the stream ended.
     *
     * @throws TruncatedFrameException if it ended inside a frame
     */
    public void endOfStream() {
        if (failure != null) {
            throw failure;
        }
        if (headerFilled > 0) {
            String where = inTrailer
                    ? "after " + trailerFilled + " of " + Protocol.CHECKSUM_LENGTH + " checksum bytes of a " + type + " frame"
                    : chunk == null
                    ? "after " + headerFilled + " of " + Protocol.HEADER_LENGTH + " header bytes"
                    : "after " + payloadFilled + " of " + payloadLength + " payload bytes of a " + type + " frame";
            throw fail(new TruncatedFrameException("stream ended mid-frame, " + where));
        }
    }

    /** Whether the decoder sits between frames (no partial frame buffered). */
    public boolean isIdle() {
        return headerFilled == 0 && failure == null;
    }

    /** Frames completed so far; with {@link #isIdle()} it tells whether a new frame began since a reading. */
    public long framesDecoded() {
        return framesDecoded;
    }

    /** Payload bytes received of the frame being read, 0 between frames. */
    public int partialPayloadBytes() {
        return payloadFilled;
    }

    /** The largest payload buffer this decoder has allocated so far, in bytes (for tests). */
    int largestAllocation() {
        return largestAllocation;
    }

    // Validates each header field as soon as its bytes are in, so garbage fails on its first bytes.
    private void checkHeaderPrefix(int before) {
        if (before < 2 && headerFilled >= 2) {
            int magic = ((header[0] & 0xFF) << 8) | (header[1] & 0xFF);
            if (magic != Protocol.MAGIC) {
                throw fail(new BadMagicException(String.format(
                        "bad magic 0x%04x (expected 0x%04x 'TW'): not a Tidewire stream or framing lost",
                        magic, Protocol.MAGIC)));
            }
        }
        if (before < 3 && headerFilled >= 3) {
            int version = header[2] & 0xFF;
            if (version != Protocol.VERSION) {
                throw fail(new UnsupportedVersionException(
                        "protocol version " + version + " is not supported (this peer speaks " + Protocol.VERSION + ")"));
            }
        }
        if (before < 4 && headerFilled >= 4) {
            int code = header[3] & 0xFF;
            type = FrameType.fromCode(code);
            if (type == null) {
                throw fail(new UnknownFrameTypeException(String.format("unknown frame type 0x%02x", code)));
            }
        }
    }

    private void startPayload(Consumer<? super Frame> sink) {
        requestId = readLong(header, 4);
        long length = readInt(header, 12) & 0xFFFF_FFFFL;
        if (length > maxFrameSize) {
            throw fail(new FrameTooLargeException(type + " frame " + requestId + " declares a payload of " + length
                    + " bytes, over the limit of " + maxFrameSize + " bytes"));
        }
        if (checksum) {
            crc.reset();
            crc.update(header, 0, Protocol.HEADER_LENGTH);
        }
        if (length == 0) {
            if (checksum) {
                inTrailer = true;
            } else {
                emit(sink, null);
            }
            return;
        }
        // Allocation happens only after the length passed the limit check, and never more than
        // one chunk ahead of the bytes that arrived.
        payloadLength = (int) length;
        payloadFilled = 0;
        fullChunkCount = 0;
        chunk = allocate(Math.min(payloadLength, CHUNK));
        chunkFilled = 0;
    }

    private void verifyChecksum() {
        int expected = (int) crc.getValue();
        int received = readInt(trailer, 0);
        if (received != expected) {
            throw fail(new ChecksumMismatchException(String.format("CRC32C checksum mismatch on a %s frame (request id"
                    + " %d, %d payload bytes): trailer 0x%08x, computed 0x%08x; the frame was corrupted in transit",
                    type, requestId, payloadLength, received, expected)));
        }
    }

    private void nextChunk() {
        if (fullChunkCount == fullChunks.length) {
            fullChunks = java.util.Arrays.copyOf(fullChunks, fullChunkCount * 2);
        }
        fullChunks[fullChunkCount++] = chunk;
        chunk = allocate(Math.min(payloadLength - payloadFilled, CHUNK));
        chunkFilled = 0;
    }

    private byte[] allocate(int size) {
        largestAllocation = Math.max(largestAllocation, size);
        return new byte[size];
    }

    /** The payload as one array: the only chunk as it is, or every chunk copied into one. */
    private byte[] joinPayload() {
        if (fullChunkCount == 0) {
            return chunk;
        }
        byte[] whole = new byte[payloadLength];
        int at = 0;
        for (int i = 0; i < fullChunkCount; i++) {
            System.arraycopy(fullChunks[i], 0, whole, at, fullChunks[i].length);
            at += fullChunks[i].length;
            fullChunks[i] = null;
        }
        System.arraycopy(chunk, 0, whole, at, chunkFilled);
        return whole;
    }

    private void emit(Consumer<? super Frame> sink, byte[] body) {
        Frame frame = new Frame(type, requestId, body);
        // Reset before calling out, so a sink that throws leaves the decoder between frames.
        headerFilled = 0;
        inTrailer = false;
        trailerFilled = 0;
        chunk = null;
        chunkFilled = 0;
        fullChunkCount = 0;
        payloadLength = 0;
        payloadFilled = 0;
        type = null;
        framesDecoded++;
        sink.accept(frame);
    }

    private ProtocolException fail(ProtocolException e) {
        failure = e;
        return e;
    }

    private static long readLong(byte[] b, int off) {
        return ((long) readInt(b, off) << 32) | (readInt(b, off + 4) & 0xFFFF_FFFFL);
    }

    private static int readInt(byte[] b, int off) {
        return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
    }
}
