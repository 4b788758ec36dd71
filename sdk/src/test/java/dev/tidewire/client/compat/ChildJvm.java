package dev.tidewire.client.compat;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Runs a main class of the test sources in a JVM of its own, on a class path made from this test
 * JVM's: the way to prove what Tidewire needs (and does not need) at run time.
 */
final class ChildJvm {
    /** Longest a child may run; it is destroyed after that (and in any case when done). */
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    /** How a child ended: its exit code and everything it printed (stdout and stderr). */
    record Result(int exitCode, String output) {
        List<String> lines() {
            return output.lines().toList();
        }
    }

    private ChildJvm() {
    }

    /** This JVM's class path (Surefire sets {@code java.class.path} to the test class path). */
    static List<Path> testClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(s -> !s.isBlank())
                .map(Path::of)
                .toList();
    }

    /** Micrometer's jars and the ones only micrometer-core brings (HdrHistogram, LatencyUtils). */
    static boolean isMicrometer(Path entry) {
        String path = entry.toString().replace(File.separatorChar, '/');
        String name = entry.getFileName().toString().toLowerCase(Locale.ROOT);
        return path.contains("/io/micrometer/") || name.startsWith("micrometer-")
                || path.contains("/org/hdrhistogram/") || name.startsWith("hdrhistogram-")
                || path.contains("/org/latencyutils/") || name.startsWith("latencyutils-");
    }

    /** The class path without the entries {@code drop} matches. */
    static List<Path> without(List<Path> classPath, Predicate<Path> drop) {
        return classPath.stream().filter(drop.negate()).toList();
    }

    /** Runs {@code main} on {@code classPath} and waits at most {@link #TIMEOUT} for it to end. */
    static Result run(List<Path> classPath, Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(classPath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
        command.add(main.getName());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            process.getOutputStream().close();
            CompletableFuture<String> output = readAllAsync(process.getInputStream());
            if (!process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
                fail(main.getSimpleName() + " did not end within " + TIMEOUT.toSeconds() + " s; output so far:\n"
                        + output.completeOnTimeout("<unavailable>", 10, TimeUnit.SECONDS).get());
            }
            String text = output.get(10, TimeUnit.SECONDS);
            System.out.println("--- " + main.getSimpleName() + " (exit " + process.exitValue() + ") ---");
            System.out.print(text);
            return new Result(process.exitValue(), text);
        } finally {
            process.destroyForcibly();
        }
    }

    /** Drains the child's output on a thread of its own, so a full pipe never blocks it. */
    private static CompletableFuture<String> readAllAsync(InputStream in) {
        CompletableFuture<String> done = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            try (in) {
                in.transferTo(buffer);
            } catch (IOException e) {
                // the process was destroyed: keep what was read
            }
            done.complete(buffer.toString(StandardCharsets.UTF_8));
        }, "child-jvm-output");
        reader.setDaemon(true);
        reader.start();
        return done;
    }
}
