package dev.tidewire.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Leak checks: threads Tidewire started, and sockets this process holds open. */
public final class Leaks {
    private Leaks() {
    }

    /** Names of live threads whose name starts with "tidewire-". */
    public static List<String> tidewireThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(n -> n.startsWith("tidewire-"))
                .sorted()
                .collect(Collectors.toList());
    }

    /** Live threads a Tidewire client started (the reference server's threads excluded). */
    public static List<String> clientThreads() {
        return tidewireThreads().stream().filter(n -> !n.startsWith("tidewire-server-")).collect(Collectors.toList());
    }

    /** Open socket file descriptors of this process (Linux /proc), or -1 where that is not readable. */
    public static int openSockets() {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return -1;
        }
        try (Stream<Path> list = Files.list(fds)) {
            return (int) list.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            return -1;
        }
    }
}
