package dev.tidewire.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Runs the standard-library Python client in docs/examples, written from docs/protocol.md alone,
 * against the reference server. Proves the specification is enough to interoperate.
 */
class PythonInteropTest {
    private static final Path SCRIPT =
            Path.of("..", "docs", "examples", "python_client.py").toAbsolutePath().normalize();
    private static final long TIMEOUT_SECONDS = 60;

    private TidewireServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void pythonClientPassesItsSelfCheck() throws Exception {
        assumeTrue(pythonAvailable(), "python3 is not runnable; skipping the interop check");
        assertTrue(Files.isRegularFile(SCRIPT), "missing " + SCRIPT);

        server = TidewireServer.builder().build().start();

        Process process = new ProcessBuilder(
                        "python3", SCRIPT.toString(), "127.0.0.1", Integer.toString(server.port()))
                .redirectErrorStream(true)
                .start();
        process.getOutputStream().close();
        CompletableFuture<String> output = readAllAsync(process.getInputStream());

        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            String partial = output.completeOnTimeout("<unavailable>", 10, TimeUnit.SECONDS).get();
            fail("python client did not finish within " + TIMEOUT_SECONDS + " s; output so far:\n" + partial);
        }
        String text = output.get(10, TimeUnit.SECONDS);
        System.out.println("--- " + SCRIPT + " ---");
        System.out.print(text);
        assertEquals(0, process.exitValue(), "python client failed:\n" + text);
        assertTrue(text.contains("0 failed"), "python client reported failures:\n" + text);
    }

    /** Drains the process output on its own thread so a full pipe never blocks the script. */
    private static CompletableFuture<String> readAllAsync(InputStream in) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        CompletableFuture<String> done = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            byte[] chunk = new byte[8192];
            try (in) {
                for (int n; (n = in.read(chunk)) != -1; ) {
                    synchronized (buffer) {
                        buffer.write(chunk, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process was killed; keep what we have
            }
            synchronized (buffer) {
                done.complete(buffer.toString(StandardCharsets.UTF_8));
            }
        }, "python-output");
        reader.setDaemon(true);
        reader.start();
        return done;
    }

    private static boolean pythonAvailable() {
        try {
            Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
            p.getInputStream().transferTo(OutputStream.nullOutputStream());
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
