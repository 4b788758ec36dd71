package dev.tidewire.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.Metadata;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.transport.Deadline;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** The ops every reference server answers: {@code echo}, {@code sleep}, {@code fail} and {@code metadata}. */
final class BuiltinHandlers {
    /** Longest {@code sleep} accepted: 5 minutes. */
    static final long MAX_SLEEP_MILLIS = 300_000;

    private BuiltinHandlers() {
    }

    /** {@code echo}: replies with the request body, byte for byte. */
    static Handler echo() {
        return request -> CompletableFuture.completedFuture(request.body());
    }

    /**
     * {@code sleep}: body {@code {"millis": N, ...}}; waits N ms on a timer task of the
     * connection's event loop (no thread is held), then replies with the request body. Cancelling
     * stops the wait.
     */
    static Handler sleep() {
        return request -> {
            JsonNode millisNode = request.json().path("millis");
            if (!millisNode.canConvertToLong() || millisNode.asLong() < 0 || millisNode.asLong() > MAX_SLEEP_MILLIS) {
                throw new HandlerException(ErrorCode.BAD_REQUEST,
                        "sleep needs {\"millis\": N} with 0 <= N <= " + MAX_SLEEP_MILLIS);
            }
            CompletableFuture<byte[]> reply = new CompletableFuture<>();
            ScheduledFuture<?> wake = request.timer().schedule(() -> reply.complete(request.body()),
                    millisNode.asLong(), TimeUnit.MILLISECONDS);
            reply.whenComplete((v, e) -> wake.cancel(false));
            return reply;
        };
    }

    /**
     * {@code fail}: body {@code {"code": N, "message": "..."}}; answers ERROR with that code. The code
     * is 1000 when {@code code} is missing, 0, or not an integer: a number written with a fraction or
     * an exponent ({@code 1001.5}, {@code 1001.0}), a string, or outside the 32-bit range (the rule
     * ERROR payloads follow).
     */
    static Handler fail() {
        return request -> {
            JsonNode body = request.json();
            JsonNode given = body.path("code");
            int code = given.isIntegralNumber() && given.canConvertToInt() && given.asInt() != 0 ? given.asInt() : 1000;
            String message = body.path("message").asText("requested failure");
            return CompletableFuture.failedFuture(new HandlerException(code, message));
        };
    }

    /**
     * {@code metadata}: replies with what the request carried besides its body, for checking a
     * client: {@code {"timeoutMillis": N, "metadata": [["key", "text"], ["key-bin", "<base64>"], ...]}},
     * {@code timeoutMillis} null when the request carried no deadline (a plain REQUEST).
     */
    static Handler metadata() {
        return request -> {
            ObjectNode reply = JsonNodeFactory.instance.objectNode();
            Optional<Deadline> deadline = request.deadline();
            if (deadline.isPresent()) {
                reply.put("timeoutMillis", deadline.get().limit().toMillis());
            } else {
                reply.putNull("timeoutMillis");
            }
            ArrayNode entries = reply.putArray("metadata");
            Metadata md = request.metadata();
            for (int i = 0; i < md.size(); i++) {
                String key = md.key(i);
                byte[] value = md.valueBytes(i);
                entries.addArray().add(key).add(key.endsWith(Metadata.BINARY_SUFFIX)
                        ? Base64.getEncoder().encodeToString(value)
                        : new String(value, StandardCharsets.UTF_8));
            }
            return CompletableFuture.completedFuture(request.toJson(reply));
        };
    }
}
