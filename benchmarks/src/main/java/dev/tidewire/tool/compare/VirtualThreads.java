package dev.tidewire.tool.compare;

import java.lang.reflect.InvocationTargetException;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;

/**
 * Virtual threads from code compiled for Java 17: {@code Thread.ofVirtual().name(prefix, 0).factory()}
 * called by reflection through the public {@code Thread.Builder} interface. Present on JDK 21 and
 * later (on 19 and 20 only as a preview, which is not used).
 */
final class VirtualThreads {
    private VirtualThreads() {
    }

    /** A factory of virtual threads named {@code prefix0}, {@code prefix1}, ..., or empty before JDK 21. */
    static Optional<ThreadFactory> factory(String prefix) {
        if (Runtime.version().feature() < 21) {
            return Optional.empty();
        }
        try {
            Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            Class<?> api = Class.forName("java.lang.Thread$Builder");
            builder = api.getMethod("name", String.class, long.class).invoke(builder, prefix, 0L);
            return Optional.of((ThreadFactory) api.getMethod("factory").invoke(builder));
        } catch (InvocationTargetException e) {
            return Optional.empty(); // UnsupportedOperationException: not enabled in this JVM
        } catch (ReflectiveOperationException e) {
            return Optional.empty();
        }
    }

    /** Why {@link #factory} is empty here, for a printed note. */
    static String unavailableReason() {
        return "virtual threads need JDK 21 or later; this is " + System.getProperty("java.version");
    }
}
