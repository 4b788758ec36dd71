package dev.tidewire.pool;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One server of a fleet: a resolved socket address, with the SRV-style priority and weight that
 * the balancer honours (docs/fleet.md).
 *
 * <p>Lower {@code priority} is preferred: calls go to the endpoints of the lowest priority that
 * has a healthy endpoint, and to the next only when none of those is healthy. Among endpoints of
 * one priority, {@code weight} sets the share of calls an endpoint takes relative to the others
 * (1 and 3: about a quarter and three quarters); 0 means "only when the others are busy", as in
 * RFC 2782. Two endpoints are the same endpoint when their addresses are equal.
 *
 * @param address  the server's address; must be resolved (an IP address and a port)
 * @param priority 0..65535, lower preferred
 * @param weight   0..65535, relative share within a priority
 */
public record Endpoint(InetSocketAddress address, int priority, int weight) {
    /** Weight of an endpoint that names none: 1. */
    public static final int DEFAULT_WEIGHT = 1;

    /**
     * @throws NullPointerException     if {@code address} is null
     * @throws IllegalArgumentException if the address is unresolved or priority or weight is out of range
     */
    public Endpoint {
        Objects.requireNonNull(address, "address");
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("endpoint address " + address.getHostString() + ":" + address.getPort()
                    + " is not resolved: an endpoint is an IP address and a port (resolve names with an EndpointResolver)");
        }
        if (priority < 0 || priority > 0xFFFF) {
            throw new IllegalArgumentException("endpoint priority must be 0..65535, was " + priority);
        }
        if (weight < 0 || weight > 0xFFFF) {
            throw new IllegalArgumentException("endpoint weight must be 0..65535, was " + weight);
        }
    }

    /** An endpoint of priority 0 and weight 1. */
    public static Endpoint of(InetSocketAddress address) {
        return new Endpoint(address, 0, DEFAULT_WEIGHT);
    }

    /** The address as {@code ip:port} ({@code [v6]:port} for IPv6), as used in metric tags and messages. */
    public String label() {
        String ip = address.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
    }

    @Override
    public String toString() {
        return label() + (priority == 0 && weight == DEFAULT_WEIGHT ? "" : " (priority " + priority + ", weight " + weight + ")");
    }
}
