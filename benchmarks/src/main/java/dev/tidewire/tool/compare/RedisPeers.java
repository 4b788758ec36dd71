package dev.tidewire.tool.compare;

import dev.tidewire.tool.load.AsyncTarget;
import dev.tidewire.tool.load.BlockingTarget;
import dev.tidewire.tool.load.Machine;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.Transports;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/**
 * The Redis peers of {@code compare}: {@code GET} of one key holding a value as long as the echo
 * systems' request body, from a {@link RedisServer} (not Tidewire's reference echo server), through
 * Lettuce ({@link Lettuce}: one multiplexed connection, async or sync API) and Jedis
 * ({@link JedisPools}: a {@link JedisPool}, one connection leased per call). Every reply is checked
 * against the value set; a different value, a missing key or an error is a failed call. Each call
 * has the {@code compare} timeout as its deadline: Lettuce's command timeout, Jedis's socket
 * timeout (and its pool's borrow wait).
 */
final class RedisPeers {
    /** The family of the Redis rows. */
    static final String FAMILY = "redis";
    /** How long Lettuce's shutdown may take, and then its threads to end. */
    static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);

    private RedisPeers() {
    }

    /** The Lettuce version on the class path, from its Maven metadata. */
    static String lettuceVersion() {
        return mavenVersion("io.lettuce", "lettuce-core");
    }

    /** The Jedis version on the class path, from its Maven metadata. */
    static String jedisVersion() {
        return mavenVersion("redis.clients", "jedis");
    }

    /** The Netty version on the class path (the one Lettuce runs on), from Netty's own metadata. */
    static String nettyVersion() {
        return io.netty.util.Version.identify().values().stream().map(io.netty.util.Version::artifactVersion)
                .findFirst().orElse("unknown");
    }

    /** The {@code version} of {@code META-INF/maven/GROUP/ARTIFACT/pom.properties}, or "unknown". */
    static String mavenVersion(String group, String artifact) {
        String resource = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = RedisPeers.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The check of one reply: null when it is {@code expected}, else the failure to report. */
    static Throwable check(byte[] reply, Throwable failure, byte[] expected) {
        if (failure != null) {
            return failure;
        }
        if (reply == null) {
            return new ExclusivePool.MismatchedReply("Redis GET found no value (the key is missing)");
        }
        return Arrays.equals(reply, expected) ? null
                : new ExclusivePool.MismatchedReply("Redis GET returned " + reply.length + " bytes that differ"
                        + " from the " + expected.length + " set");
    }

    /**
     * Lettuce: one {@link RedisClient} with its own default client resources (Netty event loops,
     * native epoll where it loads), and one {@link StatefulRedisConnection} on {@link ByteArrayCodec}
     * that every caller shares (Lettuce multiplexes commands on it). Default client options except
     * the command timeout ({@link TimeoutOptions#enabled(Duration)}, also the URI's timeout, which
     * the sync API waits).
     *
     * <p>The async API's futures complete on the connection's Netty I/O thread, where Lettuce
     * decodes the reply; {@link #async} attaches its check with {@code whenComplete}, so the
     * completion and the next command run there too, without a hop to another executor (Lettuce's
     * async API has no callback-executor option; its {@code publishOnScheduler} is for the reactive
     * API only and stays off).
     */
    static final class Lettuce implements AutoCloseable {
        private final RedisClient client;
        private final StatefulRedisConnection<byte[], byte[]> connection;

        private Lettuce(RedisClient client, StatefulRedisConnection<byte[], byte[]> connection) {
            this.client = client;
            this.connection = connection;
        }

        /** Connects to 127.0.0.1:{@code port}; each command's deadline is {@code timeout}. */
        static Lettuce connect(int port, Duration timeout) {
            RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(timeout).build();
            RedisClient client = RedisClient.create(uri);
            try {
                client.setOptions(ClientOptions.builder().timeoutOptions(TimeoutOptions.enabled(timeout)).build());
                return new Lettuce(client, client.connect(ByteArrayCodec.INSTANCE));
            } catch (RuntimeException e) {
                shutdown(client);
                throw e;
            }
        }

        /** One line: Lettuce's version, its Netty and transport. */
        String describe() {
            return "Lettuce " + lettuceVersion() + " on Netty " + nettyVersion() + " ("
                    + Transports.socketChannelClass().getSimpleName() + "), one connection";
        }

        /** {@code async().get(key)}; the reply is checked on the thread that completes the future. */
        AsyncTarget async(byte[] expected) {
            RedisAsyncCommands<byte[], byte[]> async = connection.async();
            return (slot, seq, done) -> async.get(RedisServer.KEY)
                    .whenComplete((reply, failure) -> done.complete(check(reply, failure, expected)));
        }

        /** {@code sync().get(key)} from the caller's thread. */
        BlockingTarget sync(byte[] expected) {
            RedisCommands<byte[], byte[]> sync = connection.sync();
            return (caller, seq) -> {
                Throwable failure = check(sync.get(RedisServer.KEY), null, expected);
                if (failure != null) {
                    throw (RuntimeException) failure;
                }
            };
        }

        /**
         * Closes the connection and shuts the client and its resources down (bounded), then waits
         * (bounded) for Lettuce's threads to end.
         *
         * @throws IllegalStateException if Lettuce threads are still running after that
         */
        @Override
        public void close() {
            try {
                connection.close();
            } finally {
                shutdown(client);
            }
        }

        private static void shutdown(RedisClient client) {
            client.shutdown(Duration.ZERO, SHUTDOWN_TIMEOUT);
            List<String> left = Machine.awaitThreadsGone(RedisPeers::lettuceThread, SHUTDOWN_TIMEOUT);
            if (!left.isEmpty()) {
                throw new IllegalStateException("Lettuce threads still running "
                        + SHUTDOWN_TIMEOUT.toSeconds() + " s after its shutdown: " + left);
            }
        }
    }

    /** Threads of Lettuce's client resources (event loops, event executors, timer). */
    static boolean lettuceThread(String name) {
        return name.startsWith("lettuce-");
    }

    /**
     * Jedis: a {@link JedisPool} of {@code maxTotal} = {@code maxIdle} = C connections
     * ({@code minIdle} 0, borrow wait at most the timeout, commons-pool2's defaults otherwise: no
     * idle eviction, so no evictor thread; JMX off), built for each cell by {@link #target} and
     * closed when the next is built or on {@link #close()}. A call is
     * {@code try (Jedis j = pool.getResource()) { j.get(key) }}: one connection leased for one
     * round trip. The pool's C connections are opened when it is built, before the cell, so no
     * cell measures a connect. Connect and socket timeouts are the call timeout.
     *
     * <p>Jedis deprecated {@link JedisPool} in 7.2 for {@code RedisClient} (which pools inside);
     * this row keeps it on purpose: an explicit lease per call is the pattern it measures, and the
     * one most Jedis code in service uses.
     */
    @SuppressWarnings("deprecation")
    static final class JedisPools implements AutoCloseable {
        private final HostAndPort address;
        private final Duration timeout;
        private JedisPool pool;

        /** Pools to 127.0.0.1:{@code port}; each read waits at most {@code timeout}. */
        JedisPools(int port, Duration timeout) {
            this.address = new HostAndPort("127.0.0.1", port);
            this.timeout = timeout;
        }

        /** One line: Jedis's version. */
        static String describe() {
            return "Jedis " + jedisVersion() + ", a JedisPool of C connections per cell";
        }

        /**
         * Closes the previous cell's pool and builds one for {@code callers} callers, its
         * connections opened; returns the target leasing from it.
         */
        synchronized BlockingTarget target(int callers, byte[] expected) {
            closePool();
            JedisPool p = newPool(callers);
            pool = p;
            return (caller, seq) -> {
                byte[] reply;
                try (Jedis j = p.getResource()) {
                    reply = j.get(RedisServer.KEY);
                }
                Throwable failure = check(reply, null, expected);
                if (failure != null) {
                    throw (RuntimeException) failure;
                }
            };
        }

        private JedisPool newPool(int callers) {
            GenericObjectPoolConfig<Jedis> config = new GenericObjectPoolConfig<>();
            config.setMaxTotal(callers);
            config.setMaxIdle(callers);
            config.setMinIdle(0);
            config.setMaxWait(timeout);
            config.setJmxEnabled(false);
            int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            JedisPool p = new JedisPool(config, address,
                    DefaultJedisClientConfig.builder().connectionTimeoutMillis(ms).socketTimeoutMillis(ms).build());
            List<Jedis> opened = new ArrayList<>(callers);
            try {
                for (int i = 0; i < callers; i++) {
                    opened.add(p.getResource());
                }
            } catch (RuntimeException e) {
                opened.forEach(Jedis::close);
                p.close();
                throw e;
            }
            opened.forEach(Jedis::close); // back to the pool, idle and connected
            return p;
        }

        private void closePool() {
            if (pool != null) {
                pool.close();
                pool = null;
            }
        }

        /** Connections open now in the current pool (leased or idle); 0 without one. */
        synchronized int open() {
            return pool == null ? 0 : pool.getNumActive() + pool.getNumIdle();
        }

        /** Closes the current pool and its connections. Idempotent. */
        @Override
        public synchronized void close() {
            closePool();
        }
    }
}
