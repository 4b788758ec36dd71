package dev.tidewire.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.Metadata;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Runs every JMH benchmark method once, directly (no JMH runner), so a broken benchmark fails the
 * build; and checks that the annotation processor listed them all in {@code META-INF/BenchmarkList}.
 */
class BenchmarksSmokeTest {
    private static Blackhole blackhole() {
        return new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tidewire", "ungated", "default"})
    @Timeout(10)
    void poolBenchmarkBorrowsAndReturns(String config) throws Exception {
        PoolBenchmark b = new PoolBenchmark();
        b.config = config;
        b.size = 2;
        b.setUp();
        try {
            b.borrowReturn_t01();
            b.borrowReturn_t02();
            b.borrowReturn_t08();
            b.borrowReturn_t64();
            assertEquals(0, b.borrower.active());

            // more callers than objects: every borrow must succeed and every object come back
            int threads = 8;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    done.add(pool.submit(() -> {
                        go.await();
                        for (int n = 0; n < 250; n++) {
                            b.borrowReturn_t08();
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : done) {
                    f.get(5, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0, b.borrower.active());
            if (b.borrower instanceof PoolBenchmark.TidewireBorrower t) {
                assertEquals(2, t.permits.availablePermits());
                assertTrue(t.pool.getCreatedCount() <= 2, "created " + t.pool.getCreatedCount());
            }
        } finally {
            b.tearDown();
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"100,false", "1024,false", "16384,false", "100,true", "16384,true"})
    void codecBenchmarkEncodesAndDecodes(int payloadSize, boolean checksum) {
        CodecBenchmark b = new CodecBenchmark();
        b.payloadSize = payloadSize;
        b.checksum = checksum;
        b.setUp();
        Blackhole bh = blackhole();
        int trailer = checksum ? Protocol.CHECKSUM_LENGTH : 0;

        assertEquals(payloadSize, b.body.length);
        assertEquals(Protocol.HEADER_LENGTH + payloadSize + trailer, b.encodeResponse());
        assertEquals(Protocol.HEADER_LENGTH + 1 + "echo".length() + payloadSize + trailer, b.encodeRequest());
        // REQUEST_EXT: + timeout (4) + metadata length (2) + one entry (1 + "traceparent" + 2 + 55)
        assertEquals(55, CodecBenchmark.TRACEPARENT.length());
        assertEquals(Protocol.HEADER_LENGTH + 1 + "echo".length() + 6 + 69 + payloadSize + trailer, b.encodeRequestExt());
        assertEquals(FrameType.REQUEST_EXT.code(), b.out.get(3));

        for (int round = 0; round < 2; round++) { // the buffers and decoders are reused across invocations
            assertEquals(CodecBenchmark.FRAMES_PER_DECODE, b.decodeResponses(bh));
            assertEquals(new Frame(FrameType.RESPONSE, CodecBenchmark.FRAMES_PER_DECODE, b.body), b.sink.last);
            assertTrue(b.responseDecoder.isIdle());

            assertEquals(CodecBenchmark.FRAMES_PER_DECODE, b.decodeRequests(bh));
            assertEquals(FrameType.REQUEST, b.sink.last.type());
            assertEquals(new RequestPayload("echo", b.body), RequestPayload.decode(b.sink.last.payload()));
            assertTrue(b.requestDecoder.isIdle());

            assertEquals(CodecBenchmark.FRAMES_PER_DECODE, b.decodeRequestsExt(bh));
            assertEquals(FrameType.REQUEST_EXT, b.extSink.last.type());
            assertEquals(new RequestPayload("echo", b.body, Metadata.of("traceparent", CodecBenchmark.TRACEPARENT), 5000),
                    RequestPayload.decodeExtended(b.extSink.last.payload(), 32, 8192));
            assertTrue(b.requestExtDecoder.isIdle());
        }
    }

    @Test
    @Timeout(10)
    void endToEndBenchmarkCallsALoopbackServer() throws Exception {
        EndToEndBenchmark b = new EndToEndBenchmark();
        EndToEndBenchmark.Loopback loopback = new EndToEndBenchmark.Loopback();
        loopback.maxConnections = 2;
        loopback.start();
        try {
            EndToEndBenchmark.Caller caller = new EndToEndBenchmark.Caller();
            byte[] json = new ObjectMapper().writeValueAsBytes(caller.request);
            assertTrue(json.length >= 90 && json.length <= 110, "request is " + json.length + " bytes");
            EndToEndBenchmark.Echo reply = b.call(loopback, caller);
            assertNotNull(reply);
            assertEquals(caller.request.seq, reply.seq);

            EndToEndBenchmark.AsyncCaller async = new EndToEndBenchmark.AsyncCaller();
            async.outstanding = 4;
            async.open();
            for (int i = 0; i < 10; i++) {
                b.callAsync(loopback, async);
                b.callAsyncTraceparent(loopback, async);
            }
            async.drain(); // waits for all twenty and rethrows any failure or mismatch
            assertEquals(4, async.window.availablePermits());
        } finally {
            loopback.stop();
        }
        assertTrue(loopback.client.isClosed());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(30)
    void fanOutBenchmarkGetsEveryReply(boolean batched) throws Exception {
        FanOutBenchmark b = new FanOutBenchmark();
        FanOutBenchmark.Loopback loopback = new FanOutBenchmark.Loopback();
        loopback.fan = 10;
        loopback.batched = batched;
        loopback.start();
        try {
            for (int i = 0; i < 5; i++) {
                assertEquals(10, b.fanOut(loopback)); // every reply checked byte for byte
            }
            assertEquals(0, loopback.client.inFlight());
        } finally {
            loopback.stop();
        }
    }

    @Test
    void annotationProcessorListedEveryBenchmark() throws IOException {
        StringBuilder lists = new StringBuilder();
        for (URL url : Collections.list(getClass().getClassLoader().getResources("META-INF/BenchmarkList"))) {
            try (InputStream in = url.openStream()) {
                lists.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            }
        }
        String all = lists.toString();
        for (String method : List.of("PoolBenchmark.borrowReturn_t01", "PoolBenchmark.borrowReturn_t64",
                "CodecBenchmark.encodeResponse", "CodecBenchmark.encodeRequest", "CodecBenchmark.decodeResponses",
                "CodecBenchmark.decodeRequests", "CodecBenchmark.encodeRequestExt", "CodecBenchmark.decodeRequestsExt",
                "EndToEndBenchmark.call", "EndToEndBenchmark.callAsync", "EndToEndBenchmark.callAsyncTraceparent",
                "FanOutBenchmark.fanOut")) {
            String generated = "dev.tidewire.bench.jmh_generated." + method.replace('.', '_') + "_jmhTest";
            assertTrue(all.contains(generated), method + " missing from META-INF/BenchmarkList:\n" + all);
        }
    }
}
