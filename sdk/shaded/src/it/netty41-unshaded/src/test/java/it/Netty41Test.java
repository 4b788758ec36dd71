package it;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.TransportResources;
import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Plain tidewire-sdk where Netty 4.1 won Maven's mediation: the builders refuse at once, naming the
 * Netty found and the way out, instead of a NoClassDefFoundError on the first call.
 */
class Netty41Test {
    static final String EXPECTED = "Tidewire needs Netty 4.2 or newer on the class path; found io.netty:netty-transport 4.1.";

    @Test
    void buildersRefuseNetty41WithTheWayOut() {
        System.out.println("netty on the class path, as Maven mediated it:");
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> Path.of(p).getFileName().toString())
                .filter(n -> n.startsWith("netty-"))
                .sorted()
                .forEach(n -> System.out.println("  " + n));

        refused("TidewireClient.builder()", TidewireClient::builder);
        refused("TidewireServer.builder()", TidewireServer::builder);
        refused("TransportResources.builder()", TransportResources::builder);

        // what the same class path would have done without the check: a linkage error deep inside
        LinkageError inside = assertThrows(LinkageError.class,
                () -> dev.tidewire.transport.internal.NettyRuntime.newEventLoopGroup(1, "it"));
        System.out.println("without the check: " + inside);
    }

    private static void refused(String what, Supplier<?> builder) {
        IllegalStateException e = assertThrows(IllegalStateException.class, builder::get, what);
        System.out.println(what + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith(EXPECTED), e.getMessage());
        assertTrue(e.getMessage().contains("dev.tidewire:tidewire-sdk-shaded"), e.getMessage());
        assertTrue(e.getMessage().contains("docs/configuration.md"), e.getMessage());
    }
}
