package dev.tidewire.server;

import java.util.concurrent.CompletionStage;

/**
 * An asynchronous request handler. It runs on the connection's event loop, which serves other
 * connections too, so it must not block: start the work and return a stage that completes with the reply body (JSON bytes).
 * Complete it exceptionally with a {@link HandlerException} to answer with an error code; any other
 * exception answers {@code INTERNAL}. When the client cancels, the returned stage is cancelled.
 * For blocking work register a {@link BlockingHandler} instead.
 */
@FunctionalInterface
public interface Handler {
    /**
     * Starts answering one request, on the connection's event loop.
     *
     * @param request the request
     * @return a stage completing with the reply body (null answers with an empty body); a null
     *         stage answers {@code INTERNAL}
     * @throws Exception thrown here answers the same as a stage completed with it
     */
    CompletionStage<byte[]> handle(ServerRequest request) throws Exception;
}
