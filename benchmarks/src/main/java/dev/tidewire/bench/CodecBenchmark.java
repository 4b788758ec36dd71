package dev.tidewire.bench;

import dev.tidewire.Metadata;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Frame encoding and decoding, the per-frame CPU cost the transport pays on both ends, for
 * payloads of 100 B, 1 KiB and 16 KiB, without and with the CRC32C trailer
 * ({@code checksum}: computed after encoding, checked while decoding; {@code docs/protocol.md} 2.4).
 *
 * <ul>
 *   <li>{@code encodeResponse}: {@link FrameEncoder#write} of a RESPONSE frame into a reused heap
 *       buffer (what the server's writer does per reply).</li>
 *   <li>{@code encodeRequest}: header plus {@link RequestPayload#write} of an {@code echo} REQUEST
 *       (what the client's writer does per call; {@code payloadSize} is the JSON body).</li>
 *   <li>{@code decodeResponses}: {@link FrameDecoder#decode} of a buffer holding
 *       {@value #FRAMES_PER_DECODE} pre-encoded RESPONSE frames (as one socket read carries several
 *       frames under load); each frame goes to a {@link Blackhole}. Scores are per frame.</li>
 *   <li>{@code decodeRequests}: the same for REQUEST frames, plus {@link RequestPayload#decode}
 *       (the server's side).</li>
 *   <li>{@code encodeRequestExt}, {@code decodeRequestsExt}: the same two for the REQUEST_EXT frame
 *       a client sends to a server that announces metadata ({@code docs/protocol.md} 4.6), with
 *       the same body plus a deadline and one W3C {@code traceparent} entry (55-byte value; 75
 *       bytes more per frame), as a traced call carries it. Encoding computes the timeout field
 *       from the deadline and the clock, as the client's writer does per call; decoding is
 *       {@link RequestPayload#decodeExtended} under the reference server's default limits.</li>
 * </ul>
 * One thread, throughput in ops/s; payload MB/s = ops/s × payloadSize.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class CodecBenchmark {
    /** Frames in each decode benchmark's input buffer. */
    public static final int FRAMES_PER_DECODE = 16;
    static final String OP = "echo";
    /** A sampled W3C trace context, 55 characters: what a tracing client puts in every call's metadata. */
    static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /** Payload bytes: the RESPONSE payload, the REQUEST's JSON body. */
    @Param({"100", "1024", "16384"})
    public int payloadSize;

    /** Whether frames carry the negotiated CRC32C trailer. */
    @Param({"false", "true"})
    public boolean checksum;

    byte[] body;
    byte[] opBytes;
    Frame response;
    ByteBuffer out;
    long nextRequestId;
    ByteBuffer encodedResponses;
    ByteBuffer encodedRequests;
    FrameDecoder responseDecoder;
    FrameDecoder requestDecoder;
    Metadata metadata;
    long deadlineNanos;
    ByteBuffer encodedRequestsExt;
    FrameDecoder requestExtDecoder;
    final Sink sink = new Sink();
    final ExtSink extSink = new ExtSink();

    @Setup(Level.Trial)
    public void setUp() {
        body = jsonOfLength(payloadSize);
        opBytes = RequestPayload.opBytes(OP);
        response = new Frame(FrameType.RESPONSE, 42, body);
        int trailer = checksum ? Protocol.CHECKSUM_LENGTH : 0;
        int requestLength = Protocol.HEADER_LENGTH + RequestPayload.length(opBytes, body) + trailer;
        metadata = Metadata.of("traceparent", TRACEPARENT);
        deadlineNanos = System.nanoTime() + TimeUnit.HOURS.toNanos(1); // never passes during a trial
        int extLength = Protocol.HEADER_LENGTH + RequestPayload.extendedLength(opBytes, metadata, body) + trailer;
        out = ByteBuffer.allocate(Math.max(response.encodedLength() + trailer, extLength));

        encodedResponses = ByteBuffer.allocate(FRAMES_PER_DECODE * (response.encodedLength() + trailer));
        encodedRequests = ByteBuffer.allocate(FRAMES_PER_DECODE * requestLength);
        for (int i = 1; i <= FRAMES_PER_DECODE; i++) {
            FrameEncoder.write(encodedResponses, new Frame(FrameType.RESPONSE, i, body), checksum);
            int start = encodedRequests.position();
            FrameEncoder.writeHeader(encodedRequests, FrameType.REQUEST, i, RequestPayload.length(opBytes, body));
            RequestPayload.write(encodedRequests, opBytes, body);
            if (checksum) {
                FrameEncoder.writeChecksum(encodedRequests, start);
            }
        }
        encodedResponses.flip();
        encodedRequests.flip();
        responseDecoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        responseDecoder.checksum(checksum);
        requestDecoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        requestDecoder.checksum(checksum);

        encodedRequestsExt = ByteBuffer.allocate(FRAMES_PER_DECODE * extLength);
        for (int i = 1; i <= FRAMES_PER_DECODE; i++) {
            int start = encodedRequestsExt.position();
            FrameEncoder.writeHeader(encodedRequestsExt, FrameType.REQUEST_EXT, i,
                    RequestPayload.extendedLength(opBytes, metadata, body));
            RequestPayload.writeExtended(encodedRequestsExt, opBytes, 5000, metadata, body);
            if (checksum) {
                FrameEncoder.writeChecksum(encodedRequestsExt, start);
            }
        }
        encodedRequestsExt.flip();
        requestExtDecoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        requestExtDecoder.checksum(checksum);
    }

    /** Encodes one RESPONSE frame; returns the bytes written. */
    @Benchmark
    public int encodeResponse() {
        out.clear();
        FrameEncoder.write(out, response, checksum);
        return out.position();
    }

    /** Encodes one REQUEST frame the way the client's writer does; returns the bytes written. */
    @Benchmark
    public int encodeRequest() {
        out.clear();
        FrameEncoder.writeHeader(out, FrameType.REQUEST, ++nextRequestId, RequestPayload.length(opBytes, body));
        RequestPayload.write(out, opBytes, body);
        if (checksum) {
            FrameEncoder.writeChecksum(out, 0);
        }
        return out.position();
    }

    /**
     * Encodes one REQUEST_EXT frame (deadline and a traceparent) the way the client's writer does
     * for a server that announces metadata; returns the bytes written.
     */
    @Benchmark
    public int encodeRequestExt() {
        out.clear();
        long timeoutMillis = RequestPayload.timeoutField(deadlineNanos - System.nanoTime());
        FrameEncoder.writeHeader(out, FrameType.REQUEST_EXT, ++nextRequestId,
                RequestPayload.extendedLength(opBytes, metadata, body));
        RequestPayload.writeExtended(out, opBytes, timeoutMillis, metadata, body);
        if (checksum) {
            FrameEncoder.writeChecksum(out, 0);
        }
        return out.position();
    }

    /** Decodes {@value #FRAMES_PER_DECODE} RESPONSE frames; returns how many were decoded. */
    @Benchmark
    @OperationsPerInvocation(FRAMES_PER_DECODE)
    public int decodeResponses(Blackhole bh) {
        sink.start(bh, false);
        encodedResponses.rewind();
        responseDecoder.decode(encodedResponses, sink);
        return sink.frames;
    }

    /** Decodes {@value #FRAMES_PER_DECODE} REQUEST frames and splits each payload; returns how many. */
    @Benchmark
    @OperationsPerInvocation(FRAMES_PER_DECODE)
    public int decodeRequests(Blackhole bh) {
        sink.start(bh, true);
        encodedRequests.rewind();
        requestDecoder.decode(encodedRequests, sink);
        return sink.frames;
    }

    /**
     * Decodes {@value #FRAMES_PER_DECODE} REQUEST_EXT frames and splits each payload into op,
     * timeout, metadata and body, as the server does; returns how many.
     */
    @Benchmark
    @OperationsPerInvocation(FRAMES_PER_DECODE)
    public int decodeRequestsExt(Blackhole bh) {
        extSink.start(bh);
        encodedRequestsExt.rewind();
        requestExtDecoder.decode(encodedRequestsExt, extSink);
        return extSink.frames;
    }

    /** A JSON object of exactly {@code length} bytes (at least 9): {@code {"p":"aaaa..."}}. */
    static byte[] jsonOfLength(int length) {
        String head = "{\"p\":\"";
        String tail = "\"}";
        if (length < head.length() + tail.length() + 1) {
            throw new IllegalArgumentException("payloadSize must be >= 9, got " + length);
        }
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) 'a');
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] t = tail.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(h, 0, b, 0, h.length);
        System.arraycopy(t, 0, b, length - t.length, t.length);
        return b;
    }

    /** Counts decoded frames and hands them (or their split REQUEST payloads) to the blackhole. */
    static final class Sink implements Consumer<Frame> {
        Blackhole bh;
        boolean splitRequests;
        int frames;
        Frame last;

        void start(Blackhole bh, boolean splitRequests) {
            this.bh = bh;
            this.splitRequests = splitRequests;
            this.frames = 0;
        }

        @Override
        public void accept(Frame frame) {
            frames++;
            last = frame;
            if (splitRequests) {
                bh.consume(RequestPayload.decode(frame.payload()));
            } else {
                bh.consume(frame);
            }
        }
    }

    /** Counts decoded REQUEST_EXT frames and hands their split payloads to the blackhole. */
    static final class ExtSink implements Consumer<Frame> {
        static final Hello.MetadataLimits LIMITS = Hello.MetadataLimits.DEFAULT; // the reference server's
        Blackhole bh;
        int frames;
        Frame last;

        void start(Blackhole bh) {
            this.bh = bh;
            this.frames = 0;
        }

        @Override
        public void accept(Frame frame) {
            frames++;
            last = frame;
            bh.consume(RequestPayload.decodeExtended(frame.payload(), LIMITS.maxEntries(), LIMITS.maxBytes()));
        }
    }
}
