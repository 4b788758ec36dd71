package dev.tidewire.tool;

/** A bad command line: {@link Main} prints the message and the usage, and exits 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
