package dev.tidewire.tool;

import java.util.ArrayList;
import java.util.List;

/**
 * The help of one command of the tool: its synopsis, a one-line purpose, its options with their
 * defaults, notes, and examples. {@code <command> --help}, {@code <command> -h} and
 * {@code help <command>} print {@link #text()}; the tool's global usage lists every command with
 * its {@link #purpose()}; a bad command line prints the error, {@link #usageLine()} and
 * {@link #pointer()} ({@link UsageException#report(java.io.PrintStream, CommandHelp)}).
 *
 * <pre>{@code
 * static final CommandHelp HELP = CommandHelp.builder("chart", "[--out-dir DIR] FILE.json...",
 *         "Write SVG charts from the JSON of load and compare.")
 *     .option("--out-dir DIR", "where the charts go (default: the current directory)")
 *     .example("chart --out-dir charts open.json")
 *     .build();
 * }</pre>
 */
public final class CommandHelp {
    /** How the tool is started, at the head of usage lines and examples. */
    public static final String TOOL = "java -jar tidewire-tool.jar";
    private static final String NL = System.lineSeparator();
    /** Width of the option column; a longer option gets its text on the lines below it. */
    private static final int FLAG_WIDTH = 28;

    private final String name;
    private final String synopsis;
    private final String purpose;
    private final List<Option> options;
    private final List<String> notes;
    private final List<String> examples;

    private record Option(String flag, List<String> lines) {
    }

    private CommandHelp(Builder b) {
        this.name = b.name;
        this.synopsis = b.synopsis;
        this.purpose = b.purpose;
        this.options = List.copyOf(b.options);
        this.notes = List.copyOf(b.notes);
        this.examples = List.copyOf(b.examples);
    }

    /**
     * Starts the help of command {@code name}: {@code synopsis} follows the command in the usage
     * line (e.g. {@code "[options]"}), {@code purpose} says in one line what the command does.
     */
    public static Builder builder(String name, String synopsis, String purpose) {
        return new Builder(name, synopsis, purpose);
    }

    /** The command's name, as typed after the jar. */
    public String name() {
        return name;
    }

    /** One line: what the command does. */
    public String purpose() {
        return purpose;
    }

    /** {@code usage: java -jar tidewire-tool.jar NAME SYNOPSIS}. */
    public String usageLine() {
        return "usage: " + TOOL + " " + name + (synopsis.isEmpty() ? "" : " " + synopsis);
    }

    /** Where the full help is: {@code 'java -jar tidewire-tool.jar NAME --help' lists ...}. */
    public String pointer() {
        return "'" + TOOL + " " + name + " --help' lists its options, their defaults and examples";
    }

    /** The full help: usage line, purpose, options with their defaults, notes and examples. */
    public String text() {
        StringBuilder b = new StringBuilder(usageLine()).append(NL).append(NL).append(purpose).append(NL);
        if (!options.isEmpty()) {
            b.append(NL).append("options:").append(NL);
            String indent = " ".repeat(FLAG_WIDTH + 2);
            for (Option o : options) {
                List<String> lines = o.lines();
                if (o.flag().length() + 2 > FLAG_WIDTH) {
                    b.append("  ").append(o.flag()).append(NL);
                } else {
                    b.append(String.format("  %-" + FLAG_WIDTH + "s", o.flag())).append(lines.get(0)).append(NL);
                    lines = lines.subList(1, lines.size());
                }
                for (String line : lines) {
                    b.append(indent).append(line).append(NL);
                }
            }
        }
        if (!notes.isEmpty()) {
            b.append(NL);
            for (String line : notes) {
                b.append(line).append(NL);
            }
        }
        if (!examples.isEmpty()) {
            b.append(NL).append(examples.size() == 1 ? "example:" : "examples:").append(NL);
            for (String e : examples) {
                b.append("  ").append(e).append(NL);
            }
        }
        return b.toString().stripTrailing();
    }

    /** Collects a command's help; {@link #build()} makes the immutable {@link CommandHelp}. */
    public static final class Builder {
        private final String name;
        private final String synopsis;
        private final String purpose;
        private final List<Option> options = new ArrayList<>();
        private final List<String> notes = new ArrayList<>();
        private final List<String> examples = new ArrayList<>();

        private Builder(String name, String synopsis, String purpose) {
            this.name = name;
            this.synopsis = synopsis;
            this.purpose = purpose;
        }

        /**
         * An option ({@code flag} as the user types it, e.g. {@code "--seconds S"}) described by one
         * or more lines, the default among them, e.g. {@code "measured seconds (default 10)"}.
         */
        public Builder option(String flag, String... lines) {
            if (lines.length == 0) {
                throw new IllegalArgumentException("option " + flag + " needs a description");
            }
            options.add(new Option(flag, List.of(lines)));
            return this;
        }

        /** Lines printed after the options, as they are. */
        public Builder note(String... lines) {
            notes.addAll(List.of(lines));
            return this;
        }

        /** An example: the arguments after the jar, starting with the command's name. */
        public Builder example(String arguments) {
            examples.add(TOOL + " " + arguments);
            return this;
        }

        /** The help. */
        public CommandHelp build() {
            return new CommandHelp(this);
        }
    }
}
