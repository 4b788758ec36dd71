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
    CompletionStage<byte[]> handle(ServerRequest request) throws Exception;
}
