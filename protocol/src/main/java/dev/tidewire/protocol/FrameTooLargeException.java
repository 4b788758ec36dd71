package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/** A frame header declares a payload longer than the receiver's maxFrameSize; nothing was allocated for it. */
public class FrameTooLargeException extends ProtocolException {
    /** @param message the declared length and the limit */
    public FrameTooLargeException(String message) {
        super(message);
    }
}
