package dev.tidewire.tool;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The flags of a benchmark command: {@code --name value} or {@code --name=value} from a known set,
 * switches without a value ({@code --embedded}), and positional arguments. Every mistake is a
 * {@link UsageException} naming it. (The tool's own {@code Args} is package-private to
 * {@code dev.tidewire.tool}; this is its counterpart for the benchmark packages, plus lists.)
 */
public final class Args {
    private final String command;
    private final Map<String, String> values;
    private final List<String> switches;
    private final List<String> positional;

    private Args(String command, Map<String, String> values, List<String> switches, List<String> positional) {
        this.command = command;
        this.values = values;
        this.switches = switches;
        this.positional = positional;
    }

    /** Parses {@code args}: {@code valued} flags take a value, {@code switchNames} take none. */
    public static Args parse(String command, List<String> args, Set<String> valued, Set<String> switchNames) {
        Map<String, String> values = new HashMap<>();
        List<String> switches = new ArrayList<>();
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                positional.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (!a.startsWith("--") || a.length() == 2) {
                positional.add(a);
                continue;
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (switchNames.contains(name)) {
                if (value != null) {
                    throw new UsageException("flag --" + name + " of " + command + " takes no value");
                }
                if (switches.contains(name)) {
                    throw new UsageException("flag --" + name + " of " + command + " is given twice");
                }
                switches.add(name);
                continue;
            }
            if (!valued.contains(name)) {
                throw new UsageException("unknown flag --" + name + " for " + command);
            }
            if (value == null) {
                if (i + 1 >= args.size()) {
                    throw new UsageException("flag --" + name + " of " + command + " needs a value");
                }
                value = args.get(++i);
            }
            if (values.putIfAbsent(name, value) != null) {
                throw new UsageException("flag --" + name + " of " + command + " is given twice");
            }
        }
        return new Args(command, values, switches, positional);
    }

    /** Whether the switch was given. */
    public boolean has(String name) {
        return switches.contains(name) || values.containsKey(name);
    }

    /** The flag's value, or {@code fallback} when absent. */
    public String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    /** The flag as an int in {@code min..max}, or {@code fallback} when absent. */
    public int integer(String name, int fallback, int min, int max) {
        String v = values.get(name);
        return v == null ? fallback : parseInt(name, v, min, max);
    }

    /** The flag as a comma-separated list of ints, each in {@code min..max}; {@code fallback} when absent. */
    public List<Integer> integers(String name, List<Integer> fallback, int min, int max) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        List<Integer> out = new ArrayList<>();
        for (String part : v.split(",", -1)) {
            out.add(parseInt(name, part, min, max));
        }
        if (out.size() > 64) {
            throw new UsageException("--" + name + " lists " + out.size() + " values; at most 64");
        }
        return List.copyOf(out);
    }

    /** The flag's value; fails naming the flag when it is absent. */
    public String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException(command + " needs --" + name);
        }
        return v;
    }

    /** Exactly {@code count} positional arguments, described as {@code what} in the error. */
    public List<String> positional(int count, String what) {
        if (positional.size() != count) {
            throw new UsageException(command + " takes " + (count == 0 ? "no arguments" : what)
                    + (positional.isEmpty() ? "" : ", got " + String.join(" ", positional)));
        }
        return positional;
    }

    /** The positional arguments. */
    public List<String> positional() {
        return positional;
    }

    /** Fails unless there are no positional arguments. */
    public void noPositional() {
        if (!positional.isEmpty()) {
            throw new UsageException(command + " takes no arguments, got " + String.join(" ", positional));
        }
    }

    private int parseInt(String name, String v, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(v.trim().replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a whole number" + (name.endsWith("s") ? "s" : "")
                    + ", got '" + v + "'");
        }
        if (n < min || n > max) {
            throw new UsageException("--" + name + " must be in " + min + ".." + max + ", got " + n);
        }
        return n;
    }
}
