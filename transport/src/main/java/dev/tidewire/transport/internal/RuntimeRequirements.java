package dev.tidewire.transport.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks, once per class loader, that the libraries Tidewire links against are new enough, so that
 * building a client, a server or transport resources fails at once with an
 * {@link IllegalStateException} that names what was found and what is needed, instead of a
 * {@link NoClassDefFoundError} or {@link NoSuchMethodError} deep inside a call:
 * <ul>
 * <li>Netty 4.2 or newer ({@code MultiThreadIoEventLoopGroup}, {@code IoHandlerFactory}). A
 *     dependency that pins Netty 4.1 makes Maven's nearest-wins mediation put 4.1 modules on the
 *     class path beside Tidewire's; the way out is to lift every Netty module to 4.2, or to use
 *     {@code dev.tidewire:tidewire-sdk-shaded}, which carries its own relocated Netty.</li>
 * <li>Jackson 2.15 or newer ({@code StreamReadConstraints}), jackson-core and jackson-databind.</li>
 * </ul>
 *
 * <p>Netty is probed by class presence, relative to the package this class sees Netty under, so
 * the check holds in the shaded artifact too (where Netty lives under
 * {@code dev.tidewire.shaded.io.netty}, and an application's own unshaded Netty 4.1 is no
 * concern). This class names no Netty 4.2 type and no Jackson type newer than 2.0, so it loads on
 * any class path.
 */
public final class RuntimeRequirements {
    /** Netty's version line Tidewire needs at least. */
    public static final String NETTY_MINIMUM = "4.2";
    /** Jackson's version Tidewire needs at least (jackson-core and jackson-databind). */
    public static final String JACKSON_MINIMUM = "2.15";
    /** Where the error sends the reader. */
    static final String SEE = "see docs/configuration.md, \"Dependencies and compatibility\"";

    /** Netty classes of 4.2 that Tidewire links against (relative to Netty's root package), and their module. */
    private static final List<String[]> NETTY_PROBES = List.of(
            new String[] {"channel.IoHandlerFactory", "netty-transport"},
            new String[] {"channel.MultiThreadIoEventLoopGroup", "netty-transport"},
            new String[] {"channel.nio.NioIoHandler", "netty-transport"},
            new String[] {"util.concurrent.Ticker", "netty-common"},
            new String[] {"channel.epoll.EpollIoHandler", "netty-transport-classes-epoll"});

    private static final String PROBLEM = problem();

    private RuntimeRequirements() {
    }

    /**
     * Throws if Netty or Jackson on the class path is too old; returns at once otherwise (the
     * result is computed once).
     *
     * @throws IllegalStateException naming the version found, the version needed and the way out
     */
    public static void check() {
        if (PROBLEM != null) {
            throw new IllegalStateException(PROBLEM);
        }
    }

    private static String problem() {
        String netty = nettyProblem(RuntimeRequirements.class.getClassLoader());
        String jackson = jacksonProblem(jacksonVersion("com.fasterxml.jackson.core.json.PackageVersion"),
                jacksonVersion("com.fasterxml.jackson.databind.cfg.PackageVersion"));
        if (netty == null) {
            return jackson;
        }
        return jackson == null ? netty : netty + "; and " + jackson;
    }

    /** Null when every 4.2 class Tidewire needs is there; else what is wrong. */
    static String nettyProblem(ClassLoader loader) {
        String root = io.netty.util.Version.class.getName();
        root = root.substring(0, root.length() - "util.Version".length());
        List<String> missing = new ArrayList<>();
        String module = null;
        for (String[] probe : NETTY_PROBES) {
            try {
                Class.forName(root + probe[0], false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                missing.add(root + probe[0]);
                module = module == null ? probe[1] : module;
            }
        }
        if (missing.isEmpty()) {
            return null;
        }
        return "Tidewire needs Netty " + NETTY_MINIMUM + " or newer on the class path; found io.netty:" + module + " "
                + nettyVersion(loader, module) + " (missing " + missing.get(0)
                + (missing.size() > 1 ? " and " + (missing.size() - 1) + " more 4.2 classes" : "") + "). Align every io.netty"
                + " module on 4.2 (import io.netty:netty-bom 4.2.x), or use dev.tidewire:tidewire-sdk-shaded, which"
                + " carries its own relocated Netty (" + SEE + ")";
    }

    /** The version Netty's own metadata gives for {@code module}, or where its classes come from. */
    private static String nettyVersion(ClassLoader loader, String module) {
        try {
            Map<String, io.netty.util.Version> versions = io.netty.util.Version.identify(loader);
            io.netty.util.Version v = versions.get(module);
            if (v == null) {
                v = versions.get("netty-common");
            }
            if (v != null) {
                return v.artifactVersion();
            }
        } catch (RuntimeException | LinkageError e) {
            // fall through: name the jar instead
        }
        try {
            return "(version unknown, from " + io.netty.util.Version.class.getProtectionDomain().getCodeSource()
                    .getLocation() + ")";
        } catch (RuntimeException e) {
            return "(version unknown)";
        }
    }

    /** A Jackson module's version as {@code major.minor.patch}, or null when it cannot be read. */
    private static String jacksonVersion(String packageVersionClass) {
        try {
            Object version = Class.forName(packageVersionClass, true, RuntimeRequirements.class.getClassLoader())
                    .getField("VERSION").get(null);
            return version instanceof com.fasterxml.jackson.core.Version v && !v.isUnknownVersion()
                    ? v.getMajorVersion() + "." + v.getMinorVersion() + "." + v.getPatchLevel() : null;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Null when both versions are at least {@link #JACKSON_MINIMUM} (or unreadable); else what is wrong. */
    static String jacksonProblem(String core, String databind) {
        List<String> old = new ArrayList<>();
        if (tooOld(core)) {
            old.add("com.fasterxml.jackson.core:jackson-core " + core);
        }
        if (tooOld(databind)) {
            old.add("com.fasterxml.jackson.core:jackson-databind " + databind);
        }
        if (old.isEmpty()) {
            return null;
        }
        return "Tidewire needs Jackson " + JACKSON_MINIMUM + " or newer (jackson-core and jackson-databind, for"
                + " StreamReadConstraints); found " + String.join(", ", old) + ". Upgrade Jackson (import"
                + " com.fasterxml.jackson:jackson-bom " + JACKSON_MINIMUM + ".x or newer; " + SEE + ")";
    }

    private static boolean tooOld(String version) {
        if (version == null) {
            return false; // unknown (e.g. a repackaged Jackson): let it run
        }
        String[] parts = version.split("\\.");
        int major = Integer.parseInt(parts[0]);
        int minor = Integer.parseInt(parts[1]);
        String[] min = JACKSON_MINIMUM.split("\\.");
        int minMajor = Integer.parseInt(min[0]);
        return major < minMajor || major == minMajor && minor < Integer.parseInt(min[1]);
    }
}
