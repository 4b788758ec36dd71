package dev.tidewire.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The tool's help: the global usage, each command's own help, and usage errors that point at it. */
@Timeout(30)
class HelpTest {
    private static final List<String> TLS = List.of("--tls-keystore", "--tls-truststore", "--tls-password");
    private static final List<String> METRICS = List.of("--metrics-port", "--metrics-histogram", "--metrics-slo");
    /** Every option each command takes, as its parser knows it. */
    private static final Map<String, List<String>> OPTIONS = new LinkedHashMap<>();

    static {
        OPTIONS.put("demo", concat(List.of("--seconds", "--callers", "--connections", "--tls-client-auth"), TLS));
        OPTIONS.put("serve", concat(List.of("--port", "--host", "--auth-token-file", "--tls-client-auth"), TLS, METRICS));
        OPTIONS.put("call", concat(List.of("--address", "--op", "--timeout-ms"), TLS));
        OPTIONS.put("load", concat(List.of("--embedded", "--address", "--op", "--payload-bytes", "--seconds",
                "--warmup-seconds", "--connections", "--callers", "--rate", "--rates", "--api", "--matrix",
                "--timeout-ms", "--max-pending", "--json", "--metrics-host", "--metadata", "--trace",
                "--no-metadata-server", "--tls-client-auth"), TLS, METRICS));
        OPTIONS.put("compare", List.of("--callers", "--seconds", "--warmup-seconds", "--json", "--tidewire-connections",
                "--grpc-channels", "--pool-size", "--payload-bytes", "--systems", "--timeout-ms", "--in-process",
                "--server-jvm-args", "--rounds"));
        OPTIONS.put("chart", List.of("--out-dir"));
        OPTIONS.put("simulate", List.of("--seed", "--seconds", "--out", "--servers", "--clients", "--timeout-sample",
                "--evaluate-seconds"));
        OPTIONS.put("jmh", List.of());
    }

    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    @Test
    void globalHelpListsEveryCommandAndPointsAtTheCommandsHelp() {
        assertEquals(0, run("--help"), this::output);
        String help = out();
        assertTrue(help.startsWith("usage: java -jar tidewire-tool.jar <command> [options]"), help);
        for (String command : OPTIONS.keySet()) {
            assertTrue(help.lines().anyMatch(l -> l.startsWith("  " + command + " ")), () -> command + " in\n" + help);
        }
        assertTrue(help.contains("<command> --help"), help);
        assertFalse(help.contains("--auth-token-file") || help.contains("--grpc-channels"),
                () -> "no command's options:\n" + help);
        assertEquals("", err());
        for (String form : List.of("-h", "help")) {
            stdout.reset();
            assertEquals(0, run(form), this::output);
            assertEquals(help, out(), form);
        }
        stdout.reset();
        assertEquals(2, run(), "no arguments is a bad command line");
        assertEquals("", out());
        assertTrue(err().startsWith(help.strip()), this::output);
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "serve", "call", "load", "compare", "chart", "simulate", "jmh"})
    void eachCommandsHelpHasItsOwnOptionsAndNotAnothers(String command) {
        assertEquals(0, run("help", command), this::output);
        String help = out();
        assertTrue(help.startsWith("usage: java -jar tidewire-tool.jar " + command + " "), help);
        assertTrue(help.lines().anyMatch(l -> l.startsWith("example")), () -> "an example in\n" + help);
        assertTrue(help.contains("  java -jar tidewire-tool.jar " + command + " "), help);
        assertTrue(help.lines().allMatch(l -> l.length() <= 100), () -> "lines of at most 100 characters:\n" + help);
        String options = optionsSection(help);
        for (String option : OPTIONS.get(command)) {
            assertTrue(mentions(options, option), () -> option + " in\n" + help);
        }
        OPTIONS.forEach((other, theirs) -> {
            for (String option : theirs) {
                if (!OPTIONS.get(command).contains(option)) {
                    assertFalse(mentions(options, option), () -> other + "'s " + option + " in\n" + help);
                }
            }
        });
        if (!command.equals("jmh")) {
            assertTrue(help.contains("(default"), () -> "defaults in\n" + help);
        }
        for (List<String> form : List.of(List.of(command, "--help"), List.of(command, "-h"))) {
            if (form.equals(List.of("jmh", "-h"))) {
                continue; // JMH's own help
            }
            stdout.reset();
            assertEquals(0, run(form.toArray(String[]::new)), this::output);
            assertEquals(help, out(), () -> String.join(" ", form));
        }
        assertEquals("", err());
    }

    @Test
    void helpAmongOtherFlagsPrintsTheHelpAndRunsNothing() {
        assertEquals(0, run("load", "--seconds", "600", "--bogus", "--help"), this::output);
        assertTrue(out().startsWith("usage: java -jar tidewire-tool.jar load "), out());
        assertFalse(out().contains("tidewire load:"), "no run started: " + out());
        stdout.reset();
        assertEquals(0, run("serve", "-h", "--port", "0"), this::output);
        assertTrue(out().startsWith("usage: java -jar tidewire-tool.jar serve "), out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "serve", "call", "load", "compare", "chart", "simulate"})
    void anUnknownOptionIsNamedAndPointsAtTheCommandsHelp(String command) {
        assertEquals(2, run(command, "--frobnicate", "1"), this::output);
        assertEquals("", out());
        List<String> lines = err().lines().toList();
        assertEquals("error: unknown flag --frobnicate for " + command, lines.get(0), this::output);
        assertTrue(lines.get(1).startsWith("usage: java -jar tidewire-tool.jar " + command), this::output);
        assertTrue(lines.get(2).startsWith("'java -jar tidewire-tool.jar " + command + " --help' lists its options"),
                this::output);
        assertEquals(3, lines.size(), () -> "the error, the usage line and the pointer, not the whole help:\n" + err());
    }

    @Test
    void helpOfAnUnknownCommandIsAUsageError() {
        assertEquals(2, run("help", "frobnicate"), this::output);
        assertTrue(err().startsWith("error: unknown command 'frobnicate'"), err());
        stderr.reset();
        assertEquals(2, run("frobnicate", "--help"), this::output);
        assertTrue(err().startsWith("error: unknown command 'frobnicate'"), err());
        assertEquals("", out());
    }

    /** The usage line and the lines from {@code options:} to the next blank line. */
    private static String optionsSection(String help) {
        List<String> lines = help.lines().toList();
        int start = lines.indexOf("options:");
        assertTrue(start > 0, () -> "an options section in\n" + help);
        int end = start;
        while (end < lines.size() && !lines.get(end).isBlank()) {
            end++;
        }
        return lines.get(0) + "\n" + String.join("\n", lines.subList(start, end));
    }

    /** Whether {@code text} names {@code option} as a whole word ({@code --out} is not in {@code --out-dir}). */
    private static boolean mentions(String text, String option) {
        return Pattern.compile("(?<![\\w-])" + Pattern.quote(option) + "(?![\\w-])").matcher(text).find();
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        return java.util.Arrays.stream(lists).flatMap(List::stream).toList();
    }

    private int run(String... args) {
        return Main.run(args, new PrintStream(stdout, true, StandardCharsets.UTF_8),
                new PrintStream(stderr, true, StandardCharsets.UTF_8));
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
