package dev.tidewire.tool;

/** A bad command line: {@link Main} prints the message and the usage, and exits 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
