package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/** A frame header carries a type code that the protocol does not define. */
public class UnknownFrameTypeException extends ProtocolException {
    /** @param message the type code received */
    public UnknownFrameTypeException(String message) {
        super(message);
    }
}
