package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/** The stream does not start a frame with the magic bytes 'T' 'W': it is not Tidewire, or it lost sync. */
public class BadMagicException extends ProtocolException {
    /** @param message the bytes found where the magic was expected */
    public BadMagicException(String message) {
        super(message);
    }
}
