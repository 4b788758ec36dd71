package dev.tidewire.transport.internal;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The version checks that builders run first. The real class paths (Netty 4.1 beside Tidewire,
 * Jackson 2.14) are exercised by child JVMs and by the shaded module's integration tests; here the
 * decisions and the messages.
 */
class RuntimeRequirementsTest {
    @Test
    void thisClassPathPasses() {
        assertDoesNotThrow(RuntimeRequirements::check);
        assertNull(RuntimeRequirements.nettyProblem(getClass().getClassLoader()));
        assertNull(RuntimeRequirements.jacksonProblem("2.21.3", "2.21.3"));
        assertNull(RuntimeRequirements.jacksonProblem("2.15.0", "2.15.4"));
        assertNull(RuntimeRequirements.jacksonProblem(null, null), "an unreadable version is let through");
    }

    @Test
    void aNettyWithoutThe42ClassesIsNamedWithTheWayOut() {
        // a loader that hides Netty 4.2's IoHandler API, as a Netty 4.1 netty-transport would
        ClassLoader netty41 = new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (name.startsWith("io.netty.channel.") && name.contains("IoHandler")) {
                    throw new ClassNotFoundException(name);
                }
                return super.loadClass(name, resolve);
            }
        };
        String problem = RuntimeRequirements.nettyProblem(netty41);
        assertTrue(problem != null && problem.startsWith("Tidewire needs Netty 4.2 or newer on the class path; found"
                + " io.netty:netty-transport "), problem);
        assertTrue(problem.contains("missing io.netty.channel.IoHandlerFactory and 2 more 4.2 classes"), problem);
        assertTrue(problem.contains("dev.tidewire:tidewire-sdk-shaded"), problem);
        assertTrue(problem.contains("docs/configuration.md"), problem);
    }

    @Test
    void aJacksonBelow215IsNamedWithBothVersions() {
        String problem = RuntimeRequirements.jacksonProblem("2.14.3", "2.15.4");
        assertTrue(problem != null && problem.startsWith("Tidewire needs Jackson 2.15 or newer"), problem);
        assertTrue(problem.contains("found com.fasterxml.jackson.core:jackson-core 2.14.3."), problem);
        assertTrue(RuntimeRequirements.jacksonProblem("2.12.7", "2.9.10")
                .contains("jackson-core 2.12.7, com.fasterxml.jackson.core:jackson-databind 2.9.10"));
    }
}
