package dev.tidewire.tool;

/** A bad command line: {@link Main} prints the message and the usage, and exits 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }

    /** Prints this error and {@code usage} to {@code err}; returns the exit code of a bad command line, 2. */
    public int report(java.io.PrintStream err, String usage) {
        err.println("error: " + getMessage());
        err.println("usage:");
        err.println(usage);
        return 2;
    }
}
