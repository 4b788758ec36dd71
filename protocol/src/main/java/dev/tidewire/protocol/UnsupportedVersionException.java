package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/** A frame header names a protocol version this implementation does not speak. */
public class UnsupportedVersionException extends ProtocolException {
    /** @param message the version received */
    public UnsupportedVersionException(String message) {
        super(message);
    }
}
