package dev.tidewire.tool;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The arguments of one subcommand: {@code --name value} (or {@code --name=value}) flags from a
 * known set, and positional arguments. Every mistake is a {@link UsageException} naming it.
 */
final class Args {
    private final String command;
    private final Map<String, String> flags;
    private final List<String> positional;

    private Args(String command, Map<String, String> flags, List<String> positional) {
        this.command = command;
        this.flags = flags;
        this.positional = positional;
    }

    /**
     * Parses {@code args} for {@code command}, accepting only {@code known} flag names (without
     * the leading dashes). A lone {@code --} ends the flags.
     */
    static Args parse(String command, List<String> args, Set<String> known) {
        Map<String, String> flags = new HashMap<>();
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
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                value = null;
            }
            if (!known.contains(name)) {
                throw new UsageException("unknown flag --" + name + " for " + command);
            }
            if (value == null) {
                throw new UsageException("flag --" + name + " of " + command + " needs a value");
            }
            if (flags.putIfAbsent(name, value) != null) {
                throw new UsageException("flag --" + name + " of " + command + " is given twice");
            }
        }
        return new Args(command, flags, positional);
    }

    /** The flag's value, or {@code fallback} when absent. */
    String string(String name, String fallback) {
        return flags.getOrDefault(name, fallback);
    }

    /** The flag's value; absent is a usage error. */
    String required(String name) {
        String v = flags.get(name);
        if (v == null) {
            throw new UsageException(command + " needs --" + name);
        }
        return v;
    }

    /** The flag as an int in {@code min..max}, or {@code fallback} when absent. */
    int integer(String name, int fallback, int min, int max) {
        String v = flags.get(name);
        if (v == null) {
            return fallback;
        }
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a whole number, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw new UsageException("--" + name + " must be in " + min + ".." + max + ", got " + n);
        }
        return n;
    }

    /** The positional arguments, checked to number exactly {@code count}; {@code what} names them in the error. */
    List<String> positional(int count, String what) {
        if (positional.size() != count) {
            throw new UsageException(command + " takes " + (count == 0 ? "no arguments" : what)
                    + (positional.isEmpty() ? "" : ", got " + String.join(" ", positional)));
        }
        return positional;
    }
}
