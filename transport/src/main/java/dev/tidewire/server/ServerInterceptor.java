package dev.tidewire.server;

import java.util.concurrent.CompletionStage;

/**
 * Sees every request of a {@link TidewireServer} around its handler: for authentication by
 * metadata, logging, metrics or tracing. Registered with
 * {@link TidewireServer.Builder#interceptor(ServerInterceptor)}; the first registered is the
 * outermost.
 *
 * <pre>{@code
 * ServerInterceptor tenants = (request, next) -> {
 *     if (request.metadata().get("tenant") == null) {
 *         throw new HandlerException(1001, "no tenant");
 *     }
 *     return next.handle(request);
 * };
 * }</pre>
 *
 * <p>Runs on the connection's event loop, like a {@link Handler}: it must not block. The stage
 * {@code next.handle(request)} returns completes with the handler's reply or error (for a
 * {@link BlockingHandler}, on the handler pool's thread); attach to it to see the outcome and
 * timing. An interceptor may answer without calling {@code next}, and may return a different stage.
 */
@FunctionalInterface
public interface ServerInterceptor {
    /**
     * Handles {@code request}, usually by calling {@code next.handle(request)}.
     *
     * @param request the request
     * @param next    the rest of the chain: the next interceptor, then the op's handler
     * @return a stage with the reply body; an exceptional one answers with an error as a handler's does
     * @throws Exception answers with an error as a handler's exception does
     */
    CompletionStage<byte[]> intercept(ServerRequest request, Handler next) throws Exception;
}
