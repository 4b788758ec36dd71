package dev.tidewire.client.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The oldest Jackson and Micrometer Tidewire supports (the parent pom's
 * {@code jackson.minimum.version} and {@code micrometer.minimum.version}, stated in
 * {@code docs/configuration.md}) really work: a child JVM runs the README's calls with client
 * metrics and observations on both sides, on this test's class path with Jackson and Micrometer
 * swapped for those versions (copied to {@code target/compat} by the sdk's pom before the tests).
 * A Jackson below the floor is refused when the client is built, with the versions named.
 */
class MinimumVersionsTest {
    @Test
    void callsWithMetricsAndObservationsWorkOnTheOldestJacksonAndMicrometer() throws Exception {
        String jackson = property("tidewire.compat.jackson");
        String micrometer = property("tidewire.compat.micrometer");
        List<Path> classPath = new ArrayList<>(ChildJvm.without(ChildJvm.testClassPath(),
                p -> isJackson(p) || p.toString().replace(File.separatorChar, '/').contains("/io/micrometer/")));
        classPath.addAll(jars("jackson-minimum"));
        classPath.addAll(jars("micrometer-minimum"));
        assertTrue(classPath.stream().filter(MinimumVersionsTest::isJackson)
                .allMatch(p -> p.getFileName().toString().endsWith("-" + jackson + ".jar")), classPath.toString());
        assertEquals(3, classPath.stream().filter(p -> p.getFileName().toString().startsWith("micrometer-")
                && p.getFileName().toString().endsWith("-" + micrometer + ".jar")).count(), classPath.toString());
        System.out.println("child class path with Jackson " + jackson + " and Micrometer " + micrometer + ":");
        classPath.forEach(p -> System.out.println("  " + p));

        ChildJvm.Result result = ChildJvm.run(classPath, ObservedCallsMain.class);

        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of(
                "jackson: core " + jackson + ", databind " + jackson,
                "micrometer: core " + micrometer + ", observation " + micrometer,
                "sync echo: sync",
                "async echo: async",
                "unknown op: RemoteException code 10",
                "meters: tidewire.requests {echo/success=2, no-such-op/remote_error=1}",
                "observations: {tidewire.client.call=3, tidewire.server.call=2}",
                "done"), NoMicrometerTest.significant(result.lines()), result.output());
    }

    @Test
    void aJacksonOlderThanTheFloorIsRefusedWhenTheClientIsBuilt() throws Exception {
        List<Path> classPath = new ArrayList<>(ChildJvm.without(ChildJvm.testClassPath(), MinimumVersionsTest::isJackson));
        List<Path> old = jars("jackson-too-old");
        assertEquals(3, old.size(), old.toString());
        classPath.addAll(old);

        ChildJvm.Result result = ChildJvm.run(classPath, TooOldJacksonMain.class);

        assertEquals(0, result.exitCode(), result.output());
        List<String> lines = NoMicrometerTest.significant(result.lines());
        assertEquals(3, lines.size(), result.output());
        assertEquals("jackson: databind 2.14.3", lines.get(0));
        assertTrue(lines.get(1).startsWith("refused: Tidewire needs Jackson 2.15 or newer")
                && lines.get(1).contains("found com.fasterxml.jackson.core:jackson-core 2.14.3,"
                        + " com.fasterxml.jackson.core:jackson-databind 2.14.3"), lines.get(1));
        assertEquals("done", lines.get(2));
    }

    private static boolean isJackson(Path entry) {
        String name = entry.getFileName().toString();
        return entry.toString().replace(File.separatorChar, '/').contains("/com/fasterxml/jackson/core/")
                || name.startsWith("jackson-core-") || name.startsWith("jackson-databind-")
                || name.startsWith("jackson-annotations-");
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        assertNotNull(value, name + " is not set: run the test through Maven (the sdk's pom sets it)");
        return value;
    }

    /** The jars the sdk's pom copied to {@code target/compat/<name>}. */
    private static List<Path> jars(String name) throws IOException {
        Path dir = Path.of(property("tidewire.compat.dir"), name);
        assertTrue(Files.isDirectory(dir), dir + " is missing: Maven's process-test-classes phase copies it");
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
    }
}
