package dev.tidewire.tool.compare;

import java.util.Locale;

/**
 * Which server a system of {@code compare} runs against, by the system's family: the one place
 * that maps families to servers, for the tables, the JSON ({@code server} of each system and
 * cell) and the charts' legends.
 */
enum ServerKind {
    /** The Tidewire reference server (families {@code tidewire} and {@code pool}). */
    TIDEWIRE_REFERENCE("tidewire reference", "tw", false),
    /** The gRPC-java echo server (family {@code grpc}). */
    GRPC_ECHO("grpc echo", "grpc", false),
    /**
     * redis-server (family {@code redis}): a different server from the echo servers, and single
     * threaded, so its throughput bounds the client's; client CPU per call is the fair figure.
     */
    REDIS("redis-server", "redis", true),
    /** A family this mapping does not know. */
    OTHER("its own server", "other", true);

    private final String name;
    private final String shortName;
    private final boolean otherServer;

    ServerKind(String name, String shortName, boolean otherServer) {
        this.name = name;
        this.shortName = shortName;
        this.otherServer = otherServer;
    }

    /** The server of a system of {@code family}. */
    static ServerKind of(String family) {
        return switch (family) {
            case CompareCommand.TIDEWIRE, "pool" -> TIDEWIRE_REFERENCE;
            case "grpc" -> GRPC_ECHO;
            case "redis" -> REDIS;
            default -> OTHER;
        };
    }

    /** Whether the tool starts this server itself (in a child JVM, or in this JVM with {@code --in-process}). */
    boolean echoServer() {
        return this == TIDEWIRE_REFERENCE || this == GRPC_ECHO;
    }

    /**
     * Not the echo servers the Tidewire, gRPC and pool rows share the workload of: marked with
     * {@code *} in the tables, dashed in the charts.
     */
    boolean otherServer() {
        return otherServer;
    }

    /**
     * The full label: {@code tidewire reference (child JVM)}, {@code grpc echo (in-process)},
     * {@code redis-server}.
     */
    String label(boolean inProcess) {
        return echoServer() ? name + (inProcess ? " (in-process)" : " (child JVM)") : name;
    }

    /** The table's short label: {@code tw}, {@code grpc}, {@code redis*}; {@code -in} appended in-process. */
    String shortLabel(boolean inProcess) {
        return shortName + (echoServer() && inProcess ? "-in" : "") + (otherServer ? "*" : "");
    }

    /** The charts' legend suffix: {@code tw}, {@code grpc}, {@code redis-server}. */
    String legend() {
        return otherServer ? name : shortName;
    }

    /** The kind whose {@link #label} is {@code label}, or {@link #OTHER}. */
    static ServerKind ofLabel(String label) {
        for (ServerKind k : values()) {
            if (k != OTHER && label.toLowerCase(Locale.ROOT).startsWith(k.name)) {
                return k;
            }
        }
        return OTHER;
    }
}
