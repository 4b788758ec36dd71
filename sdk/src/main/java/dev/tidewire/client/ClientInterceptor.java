package dev.tidewire.client;

import dev.tidewire.Metadata;
import dev.tidewire.transport.Deadline;
import java.util.concurrent.CompletableFuture;

/**
 * Sees every call a {@link TidewireClient} makes, around the part that sends it: to add metadata
 * (a token, a tenant), to log, to measure. Registered with
 * {@link TidewireClient.Builder#interceptor(ClientInterceptor)}; the first registered is the
 * outermost. Modelled on OkHttp's interceptor chain.
 *
 * <pre>{@code
 * ClientInterceptor tenant = chain -> chain.proceed(chain.metadata().with("tenant", "acme"));
 * ClientInterceptor timing = chain -> chain.proceed(chain.metadata()).whenComplete((reply, error) ->
 *         log(chain.op(), error, System.nanoTime() - chain.startNanos()));
 * }</pre>
 *
 * <p>{@link #intercept} runs on the caller's thread. The future {@code proceed} returns completes
 * on a Tidewire event loop, with the reply bytes or the call's {@link dev.tidewire.TidewireException};
 * what is attached to it runs there, so it must be quick and must not block. An interceptor may
 * return a different future (for example one that maps errors); cancelling the caller's future
 * still cancels the call on the wire. Calls that the pool retries ({@code NOT_PROCESSED}, connect
 * failures) are seen once.
 */
@FunctionalInterface
public interface ClientInterceptor {

    /**
     * Handles one call, usually by returning {@code chain.proceed(metadata)}.
     *
     * @param chain the call, and the way to send it
     * @return the call's reply, as the JSON bytes of the reply body
     */
    CompletableFuture<byte[]> intercept(Chain chain);

    /** A call as an interceptor sees it. */
    interface Chain {
        /** The op. */
        String op();

        /** The metadata so far: the call's own ({@link CallOptions#metadata()}) plus what outer interceptors added. */
        Metadata metadata();

        /** When the call must end. */
        Deadline deadline();

        /** {@link System#nanoTime()} when the call was made. */
        long startNanos();

        /**
         * Passes the call on to the next interceptor, or sends it, with {@code metadata}.
         *
         * @return the reply; completes on an event loop
         */
        CompletableFuture<byte[]> proceed(Metadata metadata);
    }
}
