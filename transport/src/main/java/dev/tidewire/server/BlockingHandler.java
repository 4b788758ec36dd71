package dev.tidewire.server;

/**
 * A synchronous request handler, run on the server's bounded handler pool so it may block.
 * Returns the reply body (JSON bytes). Throw a {@link HandlerException} to answer with an error
 * code. When the client cancels, the handler's thread is interrupted.
 */
@FunctionalInterface
public interface BlockingHandler {
    /**
     * Answers one request, on a handler-pool thread.
     *
     * @param request the request; {@link ServerRequest#current()} returns it on this thread too
     * @return the reply body; null answers with an empty body
     * @throws HandlerException to answer with its error code and message
     * @throws Exception        anything else answers {@code INTERNAL}, naming only the exception's
     *                          class (nothing is sent for a call the client cancelled)
     */
    byte[] handle(ServerRequest request) throws Exception;
}
