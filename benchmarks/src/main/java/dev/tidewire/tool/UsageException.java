package dev.tidewire.tool;

/** A bad command line: the tool prints the message and where to find the usage, and exits 2. */
public final class UsageException extends RuntimeException {
    /** A mistake described by {@code message}, e.g. {@code unknown flag --x for load}. */
    public UsageException(String message) {
        super(message);
    }

    /**
     * Prints this error and the tool's global {@code usage} to {@code err}; returns the exit code of
     * a bad command line, 2.
     */
    public int report(java.io.PrintStream err, String usage) {
        err.println("error: " + getMessage());
        err.println(usage);
        return 2;
    }

    /**
     * Prints this error, the command's usage line and where its full help is to {@code err};
     * returns the exit code of a bad command line, 2.
     */
    public int report(java.io.PrintStream err, CommandHelp help) {
        err.println("error: " + getMessage());
        err.println(help.usageLine());
        err.println(help.pointer());
        return 2;
    }
}
