package dev.tidewire.server;

/**
 * A synchronous request handler, run on the server's bounded handler pool so it may block.
 * Returns the reply body (JSON bytes). Throw a {@link HandlerException} to answer with an error
 * code. When the client cancels, the handler's thread is interrupted.
 */
@FunctionalInterface
public interface BlockingHandler {
    byte[] handle(ServerRequest request) throws Exception;
}
