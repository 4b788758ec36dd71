package dev.tidewire;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Call metadata: ordered key/value pairs a client sends with a request, next to its body, such as a
 * W3C {@code traceparent}, a tenant or a per-call token. Immutable; {@code with*} methods return
 * changed copies. The wire format is {@code docs/protocol.md} section 4.6.
 *
 * <pre>{@code
 * Metadata md = Metadata.of("tenant", "acme").with("x-request-source", "batch");
 * String tenant = request.metadata().get("tenant");   // in a server handler
 * }</pre>
 *
 * <p>Keys are 1..255 characters of lower-case ASCII letters, digits, {@code -}, {@code _} and
 * {@code .}; keys starting with {@code tw-} are reserved for the protocol. A key ending in
 * {@code -bin} holds binary bytes ({@link #withBinary}); any other key holds UTF-8 text
 * ({@link #with}). A value is at most 65535 bytes. A key may occur more than once: {@link #get}
 * returns the last value, {@link #getAll} every one, in order.
 *
 * <p>A server announces in its HELLO how many entries and bytes it accepts; a call whose metadata
 * exceeds them fails before anything is sent. A server that announces no metadata support gets
 * the request without it.
 */
public final class Metadata {
    /** No entries. */
    public static final Metadata EMPTY = new Metadata(new String[0], new byte[0][], 0);

    /** Longest key in bytes (its length is one unsigned byte on the wire). */
    public static final int MAX_KEY_LENGTH = 255;
    /** Longest value in bytes (its length is an unsigned 16-bit integer on the wire). */
    public static final int MAX_VALUE_LENGTH = 65535;
    /** The suffix of keys whose values are binary. */
    public static final String BINARY_SUFFIX = "-bin";

    private final String[] keys;
    private final byte[][] values;  // text values in UTF-8; never changed once here
    private final int encodedLength;

    private Metadata(String[] keys, byte[][] values, int encodedLength) {
        this.keys = keys;
        this.values = values;
        this.encodedLength = encodedLength;
    }

    /** Metadata with one text entry. */
    public static Metadata of(String key, String value) {
        return EMPTY.with(key, value);
    }

    /** Metadata with two text entries, in this order. */
    public static Metadata of(String key1, String value1, String key2, String value2) {
        return EMPTY.with(key1, value1).with(key2, value2);
    }

    /**
     * A copy with a text entry appended.
     *
     * @throws IllegalArgumentException if the key is not valid, ends in {@code -bin}, or the value
     *                                  is longer than 65535 bytes in UTF-8
     */
    public Metadata with(String key, String value) {
        checkKey(key);
        if (key.endsWith(BINARY_SUFFIX)) {
            throw new IllegalArgumentException("metadata key '" + key + "' ends in -bin: use withBinary for binary values");
        }
        Objects.requireNonNull(value, "value");
        return append(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A copy with a binary entry appended; the bytes are copied.
     *
     * @throws IllegalArgumentException if the key is not valid or does not end in {@code -bin}, or
     *                                  the value is longer than 65535 bytes
     */
    public Metadata withBinary(String key, byte[] value) {
        checkKey(key);
        if (!key.endsWith(BINARY_SUFFIX)) {
            throw new IllegalArgumentException("metadata key '" + key + "' holds text: binary keys end in -bin");
        }
        Objects.requireNonNull(value, "value");
        return append(key, value.clone());
    }

    /** A copy with every entry of {@code other} appended after this one's. */
    public Metadata withAll(Metadata other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        String[] k = Arrays.copyOf(keys, keys.length + other.keys.length);
        byte[][] v = Arrays.copyOf(values, values.length + other.values.length);
        System.arraycopy(other.keys, 0, k, keys.length, other.keys.length);
        System.arraycopy(other.values, 0, v, values.length, other.values.length);
        return new Metadata(k, v, encodedLength + other.encodedLength);
    }

    /** A copy without any entry under {@code key}. */
    public Metadata without(String key) {
        int n = 0;
        for (String k : keys) {
            n += k.equals(key) ? 0 : 1;
        }
        if (n == keys.length) {
            return this;
        }
        String[] k = new String[n];
        byte[][] v = new byte[n][];
        int length = 0;
        for (int i = 0, j = 0; i < keys.length; i++) {
            if (!keys[i].equals(key)) {
                k[j] = keys[i];
                v[j++] = values[i];
                length += entryLength(keys[i], values[i]);
            }
        }
        return new Metadata(k, v, length);
    }

    private Metadata append(String key, byte[] value) {
        if (value.length > MAX_VALUE_LENGTH) {
            throw new IllegalArgumentException("metadata value of '" + key + "' is " + value.length
                    + " bytes, over the limit of " + MAX_VALUE_LENGTH);
        }
        String[] k = Arrays.copyOf(keys, keys.length + 1);
        byte[][] v = Arrays.copyOf(values, values.length + 1);
        k[keys.length] = key;
        v[values.length] = value;
        return new Metadata(k, v, encodedLength + entryLength(key, value));
    }

    /** The last text value under {@code key}, or null if there is none. */
    public String get(String key) {
        for (int i = keys.length - 1; i >= 0; i--) {
            if (keys[i].equals(key)) {
                return new String(values[i], StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** The last value under {@code key} as bytes (a copy), or null if there is none. */
    public byte[] getBinary(String key) {
        for (int i = keys.length - 1; i >= 0; i--) {
            if (keys[i].equals(key)) {
                return values[i].clone();
            }
        }
        return null;
    }

    /** Every text value under {@code key}, in order (empty if none). */
    public List<String> getAll(String key) {
        List<String> all = new ArrayList<>(2);
        for (int i = 0; i < keys.length; i++) {
            if (keys[i].equals(key)) {
                all.add(new String(values[i], StandardCharsets.UTF_8));
            }
        }
        return all;
    }

    /** The keys in order, with repeats. */
    public List<String> keys() {
        return List.of(keys);
    }

    /** Number of entries. */
    public int size() {
        return keys.length;
    }

    /** Whether there are no entries. */
    public boolean isEmpty() {
        return keys.length == 0;
    }

    /** The key of entry {@code i} (0-based, in order). */
    public String key(int i) {
        return keys[i];
    }

    /**
     * The value bytes of entry {@code i}: not copied, for encoders; must not be changed.
     * Applications use {@link #get} or {@link #getBinary}.
     */
    public byte[] valueBytes(int i) {
        return values[i];
    }

    /**
     * Bytes the entries take on the wire: for each, 1 (key length) + key + 2 (value length) + value
     * (protocol.md section 4.6).
     */
    public int encodedLength() {
        return encodedLength;
    }

    static int entryLength(String key, byte[] value) {
        return 1 + key.length() + 2 + value.length;
    }

    /**
     * Adds an entry decoded from the wire, whose key a decoder has already checked with
     * {@link #isValidKey}; the value array is taken over, not copied.
     */
    public static Metadata decoded(String[] keys, byte[][] values) {
        int length = 0;
        for (int i = 0; i < keys.length; i++) {
            length += entryLength(keys[i], values[i]);
        }
        return keys.length == 0 ? EMPTY : new Metadata(keys, values, length);
    }

    /** Whether {@code key} is a valid key (reserved {@code tw-} keys included). */
    public static boolean isValidKey(CharSequence key) {
        int n = key.length();
        if (n == 0 || n > MAX_KEY_LENGTH) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = key.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
                return false;
            }
        }
        return true;
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (!isValidKey(key)) {
            throw new IllegalArgumentException("metadata key '" + key + "' must be 1.." + MAX_KEY_LENGTH
                    + " characters of a-z, 0-9, '-', '_' and '.'");
        }
        if (key.startsWith("tw-")) {
            throw new IllegalArgumentException("metadata key '" + key + "' uses the prefix tw-, reserved for the protocol");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Metadata m && Arrays.equals(m.keys, keys) && Arrays.deepEquals(m.values, values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(keys) * 31 + Arrays.deepHashCode(values);
    }

    /** Keys and value sizes only: values may be secrets. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Metadata[");
        for (int i = 0; i < keys.length; i++) {
            b.append(i == 0 ? "" : ", ").append(keys[i]).append('=').append(values[i].length).append(" B");
        }
        return b.append(']').toString();
    }
}
