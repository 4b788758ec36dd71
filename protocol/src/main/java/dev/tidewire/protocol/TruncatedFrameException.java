package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;

/** The stream ended in the middle of a frame. */
public class TruncatedFrameException extends ProtocolException {
    /** @param message how much of the frame arrived */
    public TruncatedFrameException(String message) {
        super(message);
    }
}
