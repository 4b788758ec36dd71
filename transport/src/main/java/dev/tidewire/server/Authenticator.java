package dev.tidewire.server;

import java.net.SocketAddress;
import java.util.Map;

/**
 * Decides whether a client's HELLO credentials admit it. Called once per connection, on the
 * server's handler pool (the connection reads nothing more meanwhile), before the server answers
 * HELLO; blocking here delays only that connection (and takes a handler thread), and the server's
 * {@code helloTimeout} (counted from accept) still closes it. Only when the handler pool's queue is
 * full is it called on the connection's event loop. {@link #ACCEPT_ALL} is not called at all. A refusal (false, or any exception) is answered with ERROR id 0 code 4
 * {@code UNAUTHENTICATED} "authentication failed" and the connection is closed; the credentials
 * are never echoed or logged.
 *
 * <pre>{@code
 * TidewireServer.builder()
 *         .authenticator((credentials, remote) -> "bearer".equals(credentials.get("type"))
 *                 && MessageDigest.isEqual(expected, credentials.getOrDefault("token", "").getBytes(UTF_8)))
 * }</pre>
 */
@FunctionalInterface
public interface Authenticator {
    /** Accepts every client, with or without credentials (the default). */
    Authenticator ACCEPT_ALL = (credentials, remote) -> true;

    /**
     * @param credentials the HELLO's {@code credentials} object (empty when the client sent none)
     * @param remote      the client's address
     * @return whether the client may use this connection
     */
    boolean authenticate(Map<String, String> credentials, SocketAddress remote);
}
