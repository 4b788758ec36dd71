package dev.tidewire.server;

import java.net.SocketAddress;
import java.util.Map;

/**
 * Decides whether a client's HELLO credentials admit it. Called once per connection, on that
 * connection's event loop, before the server answers HELLO. It must be fast and must not block:
 * the loop serves other connections too (look credentials up in memory, or refresh them in the
 * background). The server's {@code helloTimeout} (counted from accept) bounds the handshake. A refusal (false, or any exception) is answered with ERROR id 0 code 4
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
