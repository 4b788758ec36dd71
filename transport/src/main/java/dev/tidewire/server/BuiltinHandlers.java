package dev.tidewire.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.protocol.ErrorCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** The ops every reference server answers: {@code echo}, {@code sleep} and {@code fail}. */
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
}
