package dev.tidewire.client.compat;

import dev.tidewire.RemoteException;
import dev.tidewire.client.Message;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.server.TidewireServer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The calls a child JVM of the compatibility tests makes, as the README makes them: a reference
 * server on 127.0.0.1 and a free port, a client with its defaults and a 2 s request timeout, a
 * blocking and an async {@code echo}, and a call of an op the server does not have, which must end
 * with a typed error. Prints one line per step; throws if a step goes wrong. Names no Micrometer
 * type, so the child that runs without Micrometer can use it.
 */
final class CompatCalls {
    private CompatCalls() {
    }

    static void run(UnaryOperator<TidewireServer.Builder> server, UnaryOperator<TidewireClient.Builder> client)
            throws Exception {
        run(server, client, c -> { });
    }

    /** As {@link #run(UnaryOperator, UnaryOperator)}, then {@code beforeClose} with the client still open. */
    static void run(UnaryOperator<TidewireServer.Builder> server, UnaryOperator<TidewireClient.Builder> client,
            Consumer<TidewireClient> beforeClose) throws Exception {
        try (TidewireServer s = server.apply(TidewireServer.builder()
                        .bindAddress(InetAddress.getByName("127.0.0.1")).port(0)).build().start();
                TidewireClient c = client.apply(TidewireClient.builder()
                        .address("127.0.0.1:" + s.port())
                        .requestTimeout(Duration.ofSeconds(2))).build()) {
            Message sync = c.call("echo", new Message("compat-1", "sync"), Message.class);
            check(new Message("compat-1", "sync").equals(sync), "sync echo returned " + sync);
            System.out.println("sync echo: " + sync.val);

            Message async = c.callAsync("echo", new Message("compat-2", "async"), Message.class)
                    .get(5, TimeUnit.SECONDS);
            check(new Message("compat-2", "async").equals(async), "async echo returned " + async);
            System.out.println("async echo: " + async.val);

            try {
                c.call("no-such-op", new Message("compat-3", "unknown"), Message.class);
                throw new AssertionError("a call of an unknown op succeeded");
            } catch (RemoteException e) {
                check(e.code() == ErrorCode.UNKNOWN_OP, "unknown op ended with code " + e.code() + ": " + e);
                System.out.println("unknown op: " + e.getClass().getSimpleName() + " code " + e.code());
            }
            beforeClose.accept(c);
        }
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    /** Whether {@code className} can be loaded here (without initializing it). */
    static boolean present(String className) {
        try {
            Class.forName(className, false, CompatCalls.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Runs {@code main}'s body: exit 0 when it returns, 1 (with the stack trace) when it throws. */
    static void exit(Body body) {
        try {
            body.run();
            System.out.println("done");
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("failed: " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
    }

    /** A main's body. */
    interface Body {
        void run() throws Exception;
    }
}
