package dev.tidewire.client.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Micrometer is an optional dependency of tidewire-sdk: a client and a reference server with their
 * defaults must load, link and call without any Micrometer jar on the class path. A child JVM runs
 * {@link PlainCallsMain} on this test's class path minus every Micrometer jar (and HdrHistogram and
 * LatencyUtils, which only micrometer-core brings); the JVM verifies every class it loads, so a
 * class whose bytecode needs a Micrometer type to verify fails there.
 */
class NoMicrometerTest {
    @Test
    void clientAndServerWorkWithoutMicrometerOnTheClassPath() throws Exception {
        List<Path> full = ChildJvm.testClassPath();
        assertTrue(full.stream().anyMatch(ChildJvm::isMicrometer),
                "the test class path has Micrometer, which the child's must not have: " + full);
        List<Path> classPath = ChildJvm.without(full, ChildJvm::isMicrometer);
        assertTrue(classPath.stream().noneMatch(p -> p.toString().toLowerCase().contains("micrometer")),
                "the child's class path still names micrometer: " + classPath);
        assertTrue(classPath.stream().anyMatch(p -> p.toString().contains("jackson-databind")),
                "the child's class path lacks Jackson, so it is not the test's: " + classPath);
        System.out.println("child class path without Micrometer:");
        classPath.forEach(p -> System.out.println("  " + p));

        ChildJvm.Result result = ChildJvm.run(classPath, PlainCallsMain.class);

        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("micrometer: absent", "sync echo: sync", "async echo: async",
                "unknown op: RemoteException code 10", "done"), significant(result.lines()), result.output());
        assertFalse(result.output().contains("NoClassDefFoundError"), result.output());
    }

    /** The lines the main prints itself (a logger may add others). */
    static List<String> significant(List<String> lines) {
        return lines.stream().filter(l -> l.matches("(micrometer|jackson|sync echo|async echo|unknown op|meters"
                + "|observations|refused|done|failed)\\b.*")).toList();
    }
}
