package dev.tidewire;

/**
 * The reply arrived but could not be mapped to the requested type. Only this call is affected;
 * the connection stays open. The server did process the request, so it is not {@link #retryable()}.
 */
public class ResponseDecodingException extends TidewireException {
    /**
     * @param message the op and the type the reply could not be read as
     * @param cause   the decoder's failure, or null
     */
    public ResponseDecodingException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
