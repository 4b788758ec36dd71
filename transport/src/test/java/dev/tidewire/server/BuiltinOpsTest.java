package dev.tidewire.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.testing.RawClient;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The built-in ops as protocol.md section 13 specifies them, driven by a raw client. */
class BuiltinOpsTest {
    private TidewireServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /**
     * {@code fail} uses the body's {@code code} only when it is an integer (as an ERROR payload's
     * code must be); anything else, a number with a fraction or exponent included, gives 1000.
     * (1001.5 gave 1001: the number was truncated.)
     */
    @Test
    void failUsesTheCodeOnlyWhenItIsAnInteger() throws Exception {
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("{\"code\":1001.5}", 1000);
        expected.put("{\"code\":1001.0}", 1000);
        expected.put("{\"code\":1.0015e3}", 1000);
        expected.put("{\"code\":\"1001\"}", 1000);
        expected.put("{\"code\":4294968297}", 1000);   // beyond 32 bits
        expected.put("{\"code\":0}", 1000);            // 0 is not an error code
        expected.put("{\"code\":null}", 1000);
        expected.put("{}", 1000);
        expected.put("", 1000);
        expected.put("{\"code\":1001}", 1001);
        expected.put("{\"code\":-7}", -7);
        server = TidewireServer.builder().build().start();
        try (RawClient c = new RawClient(server.address())) {
            c.hello();
            long id = 0;
            for (Map.Entry<String, Integer> e : expected.entrySet()) {
                c.send(new Frame(FrameType.REQUEST, ++id, RequestPayload.encode("fail", e.getKey().getBytes(StandardCharsets.UTF_8))));
                Frame reply = c.next();
                assertNotNull(reply, "the server closed");
                assertEquals(FrameType.ERROR, reply.type(), reply.toString());
                assertEquals(id, reply.requestId());
                ErrorPayload error = ErrorPayload.decode(reply.payload());
                assertEquals(e.getValue(), error.code(), "body " + e.getKey());
                assertEquals("requested failure", error.message());
            }
        }
    }
}
