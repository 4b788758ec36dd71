package dev.tidewire.tool.load;

/** A bad command line for one of the benchmark commands: the command prints it with its usage and exits 2. */
public final class BadUsage extends RuntimeException {
    public BadUsage(String message) {
        super(message);
    }
}
