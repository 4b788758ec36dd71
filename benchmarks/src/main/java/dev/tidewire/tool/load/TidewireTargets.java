package dev.tidewire.tool.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import java.util.Arrays;

/**
 * Targets that call through the public {@link TidewireClient} API: with a JSON tree body (as an
 * application would: Jackson encodes the request and decodes the reply; for {@code echo} each
 * reply is checked to carry the caller and sequence number of its request), or with the same JSON
 * as bytes through {@code callRaw} (the reply compared byte for byte).
 */
public final class TidewireTargets {
    /** An echo reply that did not match its request (replies crossed). */
    public static final class MismatchedReply extends RuntimeException {
        MismatchedReply(String message) {
            super(message, null, false, false);
        }
    }

    private TidewireTargets() {
    }

    /** {@code client.call(op, body)} per call; one body per caller thread. */
    public static BlockingTarget blocking(TidewireClient client, String op, int payloadBytes, int callers) {
        return blocking(client, op, payloadBytes, callers, CallOptions.DEFAULT);
    }

    /** {@link #blocking(TidewireClient, String, int, int)} with these options (metadata) on every call. */
    public static BlockingTarget blocking(TidewireClient client, String op, int payloadBytes, int callers,
            CallOptions options) {
        ObjectNode[] bodies = bodies(callers, payloadBytes);
        boolean check = op.equals("echo");
        return (caller, seq) -> {
            ObjectNode body = bodies[caller];
            body.put("seq", seq);
            JsonNode reply = client.call(op, body, JsonNode.class, options);
            if (check) {
                verify(reply, caller, seq);
            }
        };
    }

    /**
     * {@code client.callAsync(op, body)} per call; the future's completion (on the client's
     * callback executor: use a direct one, {@code Runnable::run}) ends the call. The body is
     * encoded before {@code callAsync} returns, so a slot's body is reused safely.
     */
    public static AsyncTarget async(TidewireClient client, String op, int payloadBytes, int slots) {
        return async(client, op, payloadBytes, slots, CallOptions.DEFAULT);
    }

    /** {@link #async(TidewireClient, String, int, int)} with these options (metadata) on every call. */
    public static AsyncTarget async(TidewireClient client, String op, int payloadBytes, int slots,
            CallOptions options) {
        ObjectNode[] bodies = bodies(slots, payloadBytes);
        boolean check = op.equals("echo");
        return (slot, seq, done) -> {
            ObjectNode body = bodies[slot];
            body.put("seq", seq);
            client.callAsync(op, body, JsonNode.class, options).whenComplete((reply, error) -> {
                Throwable failure = error;
                if (failure == null && check) {
                    try {
                        verify(reply, slot, seq);
                    } catch (MismatchedReply e) {
                        failure = e;
                    }
                }
                done.complete(failure);
            });
        };
    }

    /**
     * {@code client.callRaw(op, bytes)} per call: the same JSON text as bytes, no Jackson on the
     * client, the reply compared byte for byte (as the gRPC and socket-pool systems do).
     */
    public static BlockingTarget blockingRaw(TidewireClient client, String op, int payloadBytes, int callers) {
        byte[][] bodies = rawBodies(callers, payloadBytes);
        boolean check = op.equals("echo");
        return (caller, seq) -> {
            byte[] reply = client.callRaw(op, bodies[caller]);
            if (check && !Arrays.equals(reply, bodies[caller])) {
                throw new MismatchedReply("raw echo of caller " + caller + " came back different");
            }
        };
    }

    /** {@code client.callRawAsync(op, bytes)} per call; see {@link #blockingRaw} and {@link #async}. */
    public static AsyncTarget asyncRaw(TidewireClient client, String op, int payloadBytes, int slots) {
        byte[][] bodies = rawBodies(slots, payloadBytes);
        boolean check = op.equals("echo");
        return (slot, seq, done) -> client.callRawAsync(op, bodies[slot]).whenComplete((reply, error) ->
                done.complete(error != null ? error : !check || Arrays.equals(reply, bodies[slot]) ? null
                        : new MismatchedReply("raw echo of slot " + slot + " came back different")));
    }

    private static byte[][] rawBodies(int n, int payloadBytes) {
        byte[][] bodies = new byte[n][];
        for (int i = 0; i < n; i++) {
            bodies[i] = Payloads.bytes(i, payloadBytes);
        }
        return bodies;
    }

    private static ObjectNode[] bodies(int n, int payloadBytes) {
        ObjectNode[] bodies = new ObjectNode[n];
        for (int i = 0; i < n; i++) {
            bodies[i] = Payloads.json(i, payloadBytes);
        }
        return bodies;
    }

    private static void verify(JsonNode reply, int caller, long seq) {
        if (reply == null || reply.path("seq").asLong(-1) != seq || reply.path("caller").asInt(-1) != caller) {
            throw new MismatchedReply("echo of caller " + caller + " seq " + seq + " came back as " + reply);
        }
    }
}
