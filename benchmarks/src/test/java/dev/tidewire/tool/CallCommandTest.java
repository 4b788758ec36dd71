package dev.tidewire.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs {@code call} (and command-line mistakes) in-process against a reference server. */
@Timeout(30)
class CallCommandTest {
    private TidewireServer server;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    @BeforeEach
    void startServer() {
        server = TidewireServer.builder().port(0).build().start();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    @Test
    void echoPrintsTheReplyAndExitsZero() {
        assertEquals(0, run("call", "--address", address(), "--op", "echo", "{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}"),
                this::output);
        assertEquals("{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}", out().strip());
        assertEquals("", err());
    }

    @Test
    void remoteErrorExitsOneWithTheExceptionOnStderr() {
        assertEquals(1, run("call", "--address", address(), "--op", "fail", "--timeout-ms", "2000",
                "{\"code\":1042,\"message\":\"nope\"}"), this::output);
        assertEquals("", out());
        assertTrue(err().startsWith("error: RemoteException (retryable=false): "), err());
        assertTrue(err().contains("nope"), err());
    }

    @Test
    void invalidJsonExitsTwo() {
        assertEquals(2, run("call", "--address", address(), "--op", "echo", "{nope"), this::output);
        assertTrue(err().startsWith("error: the request is not valid JSON"), err());
        assertTrue(err().contains("usage:"), err());
    }

    @Test
    void commandLineMistakesExitTwoWithUsage() {
        assertEquals(2, run("frobnicate"), this::output);
        assertTrue(err().startsWith("error: unknown command 'frobnicate'"), err());
        stderr.reset();
        assertEquals(2, run("call", "--address", address(), "--op", "echo", "--bogus", "1", "{}"), this::output);
        assertTrue(err().startsWith("error: unknown flag --bogus for call"), err());
        stderr.reset();
        assertEquals(2, run("call", "--op", "echo", "{}"), this::output);
        assertTrue(err().startsWith("error: call needs --address"), err());
    }

    @Test
    void helpPrintsUsageAndExitsZero() {
        assertEquals(0, run("--help"));
        assertTrue(out().startsWith("usage:"), out());
    }

    private int run(String... args) {
        return Main.run(args, new PrintStream(stdout, true, StandardCharsets.UTF_8),
                new PrintStream(stderr, true, StandardCharsets.UTF_8));
    }

    private String address() {
        return "127.0.0.1:" + server.port();
    }

    private String out() {
        return stdout.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return stderr.toString(StandardCharsets.UTF_8);
    }

    private String output() {
        return "stdout:\n" + out() + "\nstderr:\n" + err();
    }
}
