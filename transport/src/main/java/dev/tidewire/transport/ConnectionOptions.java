package dev.tidewire.transport;

import dev.tidewire.protocol.Protocol;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Immutable settings of one {@link Connection}. Build with {@link #builder()}; every setter checks
 * its argument at once and {@link Builder#build()} checks the rules that span fields.
 *
 * <pre>{@code
 * ConnectionOptions options = ConnectionOptions.builder()
 *         .connectTimeout(Duration.ofSeconds(2))
 *         .heartbeat(Duration.ofSeconds(1), Duration.ofSeconds(3))
 *         .build();
 * }</pre>
 */
public final class ConnectionOptions {
    /** Default TCP connect plus HELLO handshake time: 5 s (the seed's {@code dialTimeout}). */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default idle time before the first TCP keepalive probe: 15 s (the seed's {@code keepAlive}). */
    public static final Duration DEFAULT_KEEP_ALIVE_IDLE = Duration.ofSeconds(15);
    /** Default time between TCP keepalive probes: 5 s. */
    public static final Duration DEFAULT_KEEP_ALIVE_INTERVAL = Duration.ofSeconds(5);
    /** Default unanswered TCP keepalive probes before the kernel drops the connection: 3. */
    public static final int DEFAULT_KEEP_ALIVE_COUNT = 3;
    /** Default time without a completed frame after which a PING is sent: 2 s. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
    /** Default time without a completed frame after which the peer is declared dead: 5 s. */
    public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(5);
    /** Default largest payload this client accepts: 16 MiB. */
    public static final int DEFAULT_MAX_FRAME_SIZE = Protocol.DEFAULT_MAX_FRAME_SIZE;
    /** Default client-side cap on calls in flight per connection: 1024 (the server's HELLO may lower it). */
    public static final int DEFAULT_MAX_IN_FLIGHT = 1024;
    /** Default size of the write-coalescing buffer: 64 KiB. */
    public static final int DEFAULT_WRITE_BUFFER_SIZE = 64 * 1024;
    /** Default outbound byte budget per connection (bytes queued for the socket): 1 MiB. */
    public static final int DEFAULT_OUTBOUND_BUDGET = 1024 * 1024;
    /** Default time a connection may make no write progress while bytes wait for the socket: 10 s. */
    public static final Duration DEFAULT_WRITE_STALL_TIMEOUT = Duration.ofSeconds(10);
    /** Default time within which a frame that has started arriving must finish: 10 s. */
    public static final Duration DEFAULT_FRAME_READ_TIMEOUT = Duration.ofSeconds(10);
    /** Default checksum mode: CRC32C frame checksums on plain TCP, none under TLS. */
    public static final ChecksumMode DEFAULT_CHECKSUM = ChecksumMode.AUTO;

    private final Duration connectTimeout;
    private final Duration keepAliveIdle;
    private final Duration keepAliveInterval;
    private final int keepAliveCount;
    private final Duration heartbeatInterval;
    private final Duration heartbeatTimeout;
    private final int maxFrameSize;
    private final int maxInFlight;
    private final int writeBufferSize;
    private final int outboundBudget;
    private final Duration writeStallTimeout;
    private final Duration frameReadTimeout;
    private final Executor callbackExecutor;
    private final Map<String, String> credentials;
    private final TlsConfig tls;
    private final ChecksumMode checksum;

    private ConnectionOptions(Builder b) {
        connectTimeout = b.connectTimeout;
        keepAliveIdle = b.keepAliveIdle;
        keepAliveInterval = b.keepAliveInterval;
        keepAliveCount = b.keepAliveCount;
        heartbeatInterval = b.heartbeatInterval;
        heartbeatTimeout = b.heartbeatTimeout;
        maxFrameSize = b.maxFrameSize;
        maxInFlight = b.maxInFlight;
        writeBufferSize = b.writeBufferSize;
        outboundBudget = b.outboundBudget;
        writeStallTimeout = b.writeStallTimeout;
        frameReadTimeout = b.frameReadTimeout;
        callbackExecutor = b.callbackExecutor;
        credentials = b.credentials;
        tls = b.tls;
        checksum = b.checksum;
    }

    /** A builder with every default. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static ConnectionOptions defaults() {
        return builder().build();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.connectTimeout = connectTimeout;
        b.keepAliveIdle = keepAliveIdle;
        b.keepAliveInterval = keepAliveInterval;
        b.keepAliveCount = keepAliveCount;
        b.heartbeatInterval = heartbeatInterval;
        b.heartbeatTimeout = heartbeatTimeout;
        b.maxFrameSize = maxFrameSize;
        b.maxInFlight = maxInFlight;
        b.writeBufferSize = writeBufferSize;
        b.outboundBudget = outboundBudget;
        b.writeStallTimeout = writeStallTimeout;
        b.frameReadTimeout = frameReadTimeout;
        b.callbackExecutor = callbackExecutor;
        b.credentials = credentials;
        b.tls = tls;
        b.checksum = checksum;
        return b;
    }

    /** Time for the TCP connect and the HELLO exchange together. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Idle time before TCP keepalive probes start; zero means SO_KEEPALIVE is off. */
    public Duration keepAliveIdle() {
        return keepAliveIdle;
    }

    /** Time between TCP keepalive probes. */
    public Duration keepAliveInterval() {
        return keepAliveInterval;
    }

    /** Unanswered keepalive probes before the kernel drops the connection. */
    public int keepAliveCount() {
        return keepAliveCount;
    }

    /** Time without a completed frame from the peer after which a PING is sent; zero means no heartbeat. */
    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    /**
     * Time without a completed frame from the peer after which the connection is declared dead.
     * Bytes alone do not count: a frame that never finishes (a corrupted length, a trickle) fails
     * the connection within this time, so every frame must arrive within it.
     */
    public Duration heartbeatTimeout() {
        return heartbeatTimeout;
    }

    /** Largest payload this side accepts, in bytes; declared in HELLO. */
    public int maxFrameSize() {
        return maxFrameSize;
    }

    /** Client-side cap on calls in flight; the effective cap is the lower of this and the server's. */
    public int maxInFlight() {
        return maxInFlight;
    }

    /** Largest buffer that small frames are gathered into before they are handed to the socket. */
    public int writeBufferSize() {
        return writeBufferSize;
    }

    /**
     * Outbound byte budget: once this many bytes wait for the socket, new calls on this connection
     * wait (within their deadlines) until it has drained to half, and a pool sends them elsewhere.
     */
    public int outboundBudget() {
        return outboundBudget;
    }

    /**
     * How long a connection may make no write progress while bytes wait for the socket before it is
     * failed: a peer that stops reading is detected even when it still answers PINGs.
     */
    public Duration writeStallTimeout() {
        return writeStallTimeout;
    }

    /** Time within which a frame that has started arriving must finish, else the connection fails. */
    public Duration frameReadTimeout() {
        return frameReadTimeout;
    }

    /** Where futures returned by {@link Connection#call(String, byte[], Duration)} complete; null means the resources' pool. */
    public Executor callbackExecutor() {
        return callbackExecutor;
    }

    /**
     * The credentials sent in HELLO (empty map when none). Never printed by {@link #toString()};
     * do not log them.
     */
    public Map<String, String> credentials() {
        return credentials;
    }

    /** TLS settings, or null for plain TCP. */
    public TlsConfig tls() {
        return tls;
    }

    /** Whether HELLO offers CRC32C frame checksums: as set, {@link ChecksumMode#AUTO} by default. */
    public ChecksumMode checksum() {
        return checksum;
    }

    /**
     * Whether this client offers CRC32C frame checksums in its HELLO: {@link #checksum()} resolved
     * against {@link #tls()} (AUTO: on without TLS, off with it). They are used only if the server
     * offers them too.
     */
    public boolean checksumOffered() {
        return checksum.offered(tls != null);
    }

    @Override
    public String toString() {
        return "ConnectionOptions[connectTimeout=" + connectTimeout + ", keepAlive=" + keepAliveIdle + "/"
                + keepAliveInterval + "x" + keepAliveCount + ", heartbeat=" + heartbeatInterval + "/" + heartbeatTimeout
                + ", maxFrameSize=" + maxFrameSize + ", maxInFlight=" + maxInFlight + ", writeBufferSize="
                + writeBufferSize + ", outboundBudget=" + outboundBudget + ", writeStallTimeout=" + writeStallTimeout
                + ", frameReadTimeout=" + frameReadTimeout + (credentials.isEmpty() ? "" : ", credentials=<redacted>")
                + ", tls=" + (tls != null) + ", checksum=" + checksum + "]";
    }

    /** Builds {@link ConnectionOptions}. Not thread-safe. */
    public static final class Builder {
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration keepAliveIdle = DEFAULT_KEEP_ALIVE_IDLE;
        private Duration keepAliveInterval = DEFAULT_KEEP_ALIVE_INTERVAL;
        private int keepAliveCount = DEFAULT_KEEP_ALIVE_COUNT;
        private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
        private Duration heartbeatTimeout = DEFAULT_HEARTBEAT_TIMEOUT;
        private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
        private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
        private int writeBufferSize = DEFAULT_WRITE_BUFFER_SIZE;
        private int outboundBudget = DEFAULT_OUTBOUND_BUDGET;
        private Duration writeStallTimeout = DEFAULT_WRITE_STALL_TIMEOUT;
        private Duration frameReadTimeout = DEFAULT_FRAME_READ_TIMEOUT;
        private Executor callbackExecutor;
        private Map<String, String> credentials = Map.of();
        private TlsConfig tls;
        private ChecksumMode checksum = DEFAULT_CHECKSUM;

        private Builder() {
        }

        /** TCP connect plus HELLO; &gt; 0. Default 5 s. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = positive("connectTimeout", connectTimeout);
            return this;
        }

        /**
         * TCP keepalive: idle time before probing (whole seconds, at least 1; {@link Duration#ZERO}
         * turns SO_KEEPALIVE off), time between probes (at least 1 s), probes before giving up (1..127).
         */
        public Builder keepAlive(Duration idle, Duration interval, int count) {
            Objects.requireNonNull(idle, "keepAlive idle");
            if (!idle.isZero()) {
                atLeastOneSecond("keepAlive idle", idle);
            }
            this.keepAliveIdle = idle;
            this.keepAliveInterval = atLeastOneSecond("keepAlive interval", interval);
            if (count < 1 || count > 127) {
                throw new IllegalArgumentException("keepAlive count must be in 1..127, got " + count);
            }
            this.keepAliveCount = count;
            return this;
        }

        /** Only the keepalive idle time (the seed's {@code keepAlive}); see {@link #keepAlive(Duration, Duration, int)}. */
        public Builder keepAlive(Duration idle) {
            return keepAlive(idle, keepAliveInterval, keepAliveCount);
        }

        /**
         * Heartbeat: PING after {@code interval} without a completed frame from the peer; the
         * peer is dead after {@code timeout} without one (bytes of an unfinished frame do not count). {@code interval} {@link Duration#ZERO} disables it;
         * otherwise {@code timeout} must exceed {@code interval}.
         */
        public Builder heartbeat(Duration interval, Duration timeout) {
            Objects.requireNonNull(interval, "heartbeatInterval");
            if (interval.isNegative()) {
                throw new IllegalArgumentException("heartbeatInterval must be >= 0, got " + interval);
            }
            this.heartbeatInterval = interval;
            this.heartbeatTimeout = positive("heartbeatTimeout", timeout);
            return this;
        }

        /** Largest payload accepted from the server, bytes, 4 KiB..1 GiB. Default 16 MiB. */
        public Builder maxFrameSize(int maxFrameSize) {
            if (maxFrameSize < Protocol.MIN_MAX_FRAME_SIZE || maxFrameSize > Protocol.MAX_MAX_FRAME_SIZE) {
                throw new IllegalArgumentException("maxFrameSize must be in " + Protocol.MIN_MAX_FRAME_SIZE + ".."
                        + Protocol.MAX_MAX_FRAME_SIZE + " bytes, got " + maxFrameSize);
            }
            this.maxFrameSize = maxFrameSize;
            return this;
        }

        /** Client-side cap on calls in flight per connection, &gt;= 1. Default 1024. */
        public Builder maxInFlight(int maxInFlight) {
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
            }
            this.maxInFlight = maxInFlight;
            return this;
        }

        /** Write-coalescing buffer, bytes, 1 KiB..16 MiB. Default 64 KiB. */
        public Builder writeBufferSize(int writeBufferSize) {
            if (writeBufferSize < 1024 || writeBufferSize > 16 * 1024 * 1024) {
                throw new IllegalArgumentException("writeBufferSize must be in 1024..16777216 bytes, got " + writeBufferSize);
            }
            this.writeBufferSize = writeBufferSize;
            return this;
        }

        /**
         * Outbound byte budget per connection, bytes, 64 KiB..1 GiB. Default 1 MiB. Above it new
         * calls wait for the connection to drain to half (within their deadlines); one frame larger
         * than the budget is still sent, alone.
         */
        public Builder outboundBudget(int outboundBudget) {
            if (outboundBudget < 64 * 1024 || outboundBudget > (1 << 30)) {
                throw new IllegalArgumentException("outboundBudget must be in 65536..1073741824 bytes, got "
                        + outboundBudget);
            }
            this.outboundBudget = outboundBudget;
            return this;
        }

        /** No write progress for this long while bytes are queued fails the connection; &gt; 0. Default 10 s. */
        public Builder writeStallTimeout(Duration writeStallTimeout) {
            this.writeStallTimeout = positive("writeStallTimeout", writeStallTimeout);
            return this;
        }

        /** A frame that has started arriving must finish within this; &gt; 0. Default 10 s. */
        public Builder frameReadTimeout(Duration frameReadTimeout) {
            this.frameReadTimeout = positive("frameReadTimeout", frameReadTimeout);
            return this;
        }

        /** Executor that completes futures handed to users; null (default) uses the resources' callback pool. */
        public Builder callbackExecutor(Executor callbackExecutor) {
            this.callbackExecutor = callbackExecutor;
            return this;
        }

        /**
         * Credentials sent to the server in HELLO ({@code docs/protocol.md} 5.7): string fields,
         * for example {@code {"type":"bearer","token":"..."}}; at most 32 fields, names 1..64
         * characters, values at most 2048 characters. An empty map (the default) sends none. They
         * are never printed by {@code toString()} and never appear in error messages. Without TLS
         * they cross the network in clear text.
         */
        public Builder credentials(Map<String, String> credentials) {
            Objects.requireNonNull(credentials, "credentials");
            if (credentials.size() > 32) {
                throw new IllegalArgumentException("credentials must have at most 32 fields, got " + credentials.size());
            }
            Map<String, String> copy = new LinkedHashMap<>();
            credentials.forEach((k, v) -> {
                if (k == null || k.isEmpty() || k.length() > 64) {
                    throw new IllegalArgumentException("credentials field names must be 1..64 characters");
                }
                if (v == null || v.length() > 2048) {
                    throw new IllegalArgumentException("credentials field '" + k + "' must be a non-null value of at"
                            + " most 2048 characters");
                }
                copy.put(k, v);
            });
            this.credentials = Map.copyOf(copy);
            return this;
        }

        /** Shorthand for {@code credentials(Map.of("type", "bearer", "token", token))}; token non-empty. */
        public Builder bearerToken(String token) {
            Objects.requireNonNull(token, "bearerToken");
            if (token.isEmpty()) {
                throw new IllegalArgumentException("bearerToken must not be empty");
            }
            return credentials(Map.of("type", "bearer", "token", token));
        }

        /**
         * Connect with TLS using these settings; null (default) means plain TCP. The server's
         * certificate must be trusted and must match the host name (or IP address) connected to.
         */
        public Builder tls(TlsConfig tls) {
            this.tls = tls;
            return this;
        }

        /**
         * Whether HELLO offers CRC32C frame checksums ({@code docs/protocol.md} 2.4), non-null.
         * Default {@link ChecksumMode#AUTO}: offered on plain TCP, not under TLS (whose records
         * carry a MAC already). Used only when the server offers them too; then a frame corrupted
         * in transit fails the connection instead of being delivered.
         */
        public Builder checksum(ChecksumMode checksum) {
            this.checksum = Objects.requireNonNull(checksum, "checksum");
            return this;
        }

        /**
         * @throws IllegalArgumentException if the heartbeat timeout does not exceed its interval
         */
        public ConnectionOptions build() {
            if (!heartbeatInterval.isZero() && heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
                throw new IllegalArgumentException("heartbeatTimeout (" + heartbeatTimeout
                        + ") must exceed heartbeatInterval (" + heartbeatInterval + ")");
            }
            return new ConnectionOptions(this);
        }

        private static Duration positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be > 0, got " + d);
            }
            return d;
        }

        private static Duration atLeastOneSecond(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.toNanos() % 1_000_000_000L != 0) {
                throw new IllegalArgumentException(name + " must be whole seconds, at least 1 s (TCP counts whole"
                        + " seconds), got " + d);
            }
            return d;
        }
    }
}
