package dev.tidewire.tool.compare;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.TlsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The servers {@code compare} measures against, started on 127.0.0.1 and a free port: the Tidewire
 * reference server (for the Tidewire systems and the exclusive pool) and the gRPC echo server,
 * each plaintext or TLS. {@code compare} runs each in a child JVM through {@link #main} (the
 * default, as in production) or in its own JVM with {@code --in-process}.
 *
 * <p>The child protocol: the child prints its log lines, then one line {@link #READY} followed by
 * the port, then serves until its standard input ends (the parent closed it, or the parent died)
 * or it is sent SIGTERM; then it shuts the server down and exits 0.
 *
 * <pre>
 * java -cp CLASSPATH dev.tidewire.tool.compare.EchoServers tidewire [--tls-keystore P12 --tls-password PW]
 * java -cp CLASSPATH dev.tidewire.tool.compare.EchoServers grpc [--direct] [--tls-keystore P12 --tls-password PW]
 * </pre>
 */
public final class EchoServers {
    /** The line prefix that carries the port, printed once the server accepts connections. */
    public static final String READY = "tidewire-compare-server listening on port ";
    /** How long a Tidewire server lets requests in flight finish when it is stopped. */
    static final Duration GRACE = Duration.ofSeconds(2);

    /** The kind of server. */
    enum Kind {
        /** The Tidewire reference server with its built-in {@code echo}. */
        TIDEWIRE,
        /** The gRPC-java {@code bench/Echo} server. */
        GRPC
    }

    /**
     * What to start: the kind, gRPC's {@code directExecutor()}, and the PKCS12 key store to present
     * (null: plaintext).
     */
    record Spec(Kind kind, boolean direct, Path keyStore, char[] password) {
        /** The child's command-line arguments for this spec. */
        List<String> args() {
            List<String> a = new ArrayList<>();
            a.add(kind.name().toLowerCase(java.util.Locale.ROOT));
            if (direct) {
                a.add("--direct");
            }
            if (keyStore != null) {
                a.addAll(List.of("--tls-keystore", keyStore.toString(), "--tls-password", new String(password)));
            }
            return a;
        }

        /** A short description: kind, executor, TLS. */
        String describe() {
            return kind.name().toLowerCase(java.util.Locale.ROOT) + (direct ? " direct" : "")
                    + (keyStore != null ? " tls" : "");
        }
    }

    /** A started server: its port; {@link #close()} stops it and waits until it has. */
    interface Running extends AutoCloseable {
        /** The port on 127.0.0.1. */
        int port();

        /** The server's own process, when it runs in one (its CPU time is measured); empty in this JVM. */
        default java.util.Optional<ProcessHandle> serverProcess() {
            return java.util.Optional.empty();
        }

        @Override
        void close();
    }

    private EchoServers() {
    }

    /**
     * The child JVM's entry point: starts the server given by {@code args}, prints {@link #READY}
     * and the port, and serves until standard input ends or the JVM is asked to stop.
     */
    public static void main(String[] args) {
        Spec spec;
        try {
            spec = parse(List.of(args));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        PrintStream out = System.out;
        Running running;
        try {
            running = start(spec, out::println);
        } catch (RuntimeException e) {
            System.err.println("error: cannot start the " + spec.describe() + " server: " + e);
            System.exit(1);
            return;
        }
        Thread hook = new Thread(running::close, "compare-server-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println(READY + running.port());
        out.flush();
        awaitEndOfInput(System.in);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            return; // the JVM is already shutting down: the hook stops the server
        }
        running.close();
        System.exit(0);
    }

    static Spec parse(List<String> args) {
        if (args.isEmpty()) {
            throw new IllegalArgumentException("usage: EchoServers tidewire|grpc [--direct] [--tls-keystore P12 --tls-password PW]");
        }
        Kind kind;
        try {
            kind = Kind.valueOf(args.get(0).toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown server kind '" + args.get(0) + "'");
        }
        boolean direct = false;
        Path keyStore = null;
        char[] password = null;
        for (int i = 1; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--direct" -> direct = true;
                case "--tls-keystore", "--tls-password" -> {
                    if (i + 1 >= args.size()) {
                        throw new IllegalArgumentException(a + " needs a value");
                    }
                    String v = args.get(++i);
                    if (a.equals("--tls-keystore")) {
                        keyStore = Path.of(v);
                    } else {
                        password = v.toCharArray();
                    }
                }
                default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
            }
        }
        if ((keyStore == null) != (password == null)) {
            throw new IllegalArgumentException("--tls-keystore and --tls-password go together");
        }
        return new Spec(kind, direct, keyStore, password);
    }

    /** Starts the server of {@code spec} in this JVM; {@code log} receives its start-up notes. */
    static Running start(Spec spec, Consumer<String> log) {
        return spec.kind() == Kind.TIDEWIRE ? tidewire(spec) : grpc(spec, log);
    }

    private static Running tidewire(Spec spec) {
        TidewireServer.Builder b = TidewireServer.builder().bindAddress(InetAddress.getLoopbackAddress()).port(0);
        if (spec.keyStore() != null) {
            b.tls(TlsConfig.builder().keyStore(spec.keyStore(), spec.password()).build(), false);
        }
        TidewireServer server = b.build().start();
        return new Running() {
            @Override
            public int port() {
                return server.port();
            }

            @Override
            public void close() {
                server.shutdown(GRACE);
            }
        };
    }

    private static Running grpc(Spec spec, Consumer<String> log) {
        io.grpc.Server server = GrpcEcho.startServer(spec.direct(),
                spec.keyStore() == null ? null : GrpcEcho.serverTls(spec.keyStore(), spec.password(), log));
        return new Running() {
            @Override
            public int port() {
                return server.getPort();
            }

            @Override
            public void close() {
                GrpcEcho.stop(server);
            }
        };
    }

    /** Reads and discards standard input until it ends (or fails). */
    private static void awaitEndOfInput(InputStream in) {
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // nothing is expected on stdin; its end is the signal to stop
            }
        } catch (IOException e) {
            // a broken pipe means the parent is gone: stop as well
        }
    }
}
