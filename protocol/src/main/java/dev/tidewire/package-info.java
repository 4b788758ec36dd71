/**
 * What every Tidewire API shares: {@link dev.tidewire.Metadata} sent with calls, and the
 * exceptions a call can end with.
 *
 * <p>Every error is a {@link dev.tidewire.TidewireException}, unchecked, one subclass per outcome
 * the caller can act on (a {@link dev.tidewire.RemoteException} from the server, a
 * {@link dev.tidewire.RequestTimeoutException}, a {@link dev.tidewire.ConnectionLostException},
 * ...). {@link dev.tidewire.TidewireException#retryable()} is true only when the request is known
 * not to have been processed ({@code docs/failure-semantics.md}).
 */
package dev.tidewire;
