package dev.tidewire.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.Version;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The limits Tidewire's default Jackson mappers apply to JSON read from the network, so hostile
 * input costs bounded stack, memory and CPU. Used by the control payloads (HELLO, ERROR, GOAWAY),
 * the reference server's default mapper and the client's default mapper. A mapper passed to
 * {@code TidewireServer.Builder.objectMapper} or {@code TidewireClient.Builder.objectMapper} is used
 * as it is; build it with {@link #newObjectMapper()} (then configure it) to keep these limits.
 *
 * <p>No default typing is enabled anywhere: JSON never names the classes it is decoded to.
 *
 * <p>Works with Jackson 2.15 and newer; {@link #MAX_NAME_LENGTH} is applied from 2.16 on (2.15 has
 * no limit on property names; the frame size still bounds them).
 */
public final class JsonLimits {
    /** Deepest nesting of arrays and objects: 64 levels. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** Longest number literal: 100 characters. */
    public static final int MAX_NUMBER_LENGTH = 100;
    /** Longest string value: 16 MiB, the default {@code maxFrameSize}. */
    public static final int MAX_STRING_LENGTH = Protocol.DEFAULT_MAX_FRAME_SIZE;
    /** Longest property name: 50,000 characters (Jackson's default); applied with Jackson 2.16 and newer. */
    public static final int MAX_NAME_LENGTH = 50_000;
    /** Whether this Jackson can limit property names ({@code StreamReadConstraints.Builder.maxNameLength}, 2.16). */
    private static final boolean NAME_LENGTH_LIMIT = atLeast(com.fasterxml.jackson.core.json.PackageVersion.VERSION, 2, 16);

    private JsonLimits() {
    }

    /** The read constraints above. */
    public static StreamReadConstraints streamReadConstraints() {
        StreamReadConstraints.Builder b = StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .maxNumberLength(MAX_NUMBER_LENGTH)
                .maxStringLength(MAX_STRING_LENGTH);
        if (NAME_LENGTH_LIMIT) {
            b.maxNameLength(MAX_NAME_LENGTH); // resolved only when run: absent from 2.15
        }
        return b.build();
    }

    private static boolean atLeast(Version v, int major, int minor) {
        return v.getMajorVersion() > major || v.getMajorVersion() == major && v.getMinorVersion() >= minor;
    }

    /** A new {@link ObjectMapper} whose parser applies {@link #streamReadConstraints()}. */
    public static ObjectMapper newObjectMapper() {
        return new ObjectMapper(JsonFactory.builder().streamReadConstraints(streamReadConstraints()).build());
    }
}
