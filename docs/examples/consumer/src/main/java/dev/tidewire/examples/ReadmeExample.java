package dev.tidewire.examples;

// README:begin
import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.Metadata;
import dev.tidewire.RemoteException;
import dev.tidewire.TidewireException;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static java.nio.charset.StandardCharsets.UTF_8;

public class ReadmeExample {
    record Message(String uid, String val) {}

    public static void main(String[] args) {
        String address = args.length > 0 ? args[0] : "127.0.0.1:7000";
        MeterRegistry registry = new SimpleMeterRegistry();               // or your Prometheus registry
        ObservationRegistry observations = ObservationRegistry.create();  // add Micrometer Tracing for spans

        try (TidewireClient client = TidewireClient.builder()
                .address(address)                       // the server
                .maxConnections(4)                      // pool size; each connection carries many calls
                .requestTimeout(Duration.ofSeconds(2))  // default deadline of every call
                .meterRegistry(registry)                // optional: Micrometer metrics
                .observationRegistry(observations)      // optional: a span per call, trace context sent along
                .build()) {
            Message reply = client.call("echo", new Message("pixel-1", "pixelpig!"), Message.class);
            System.out.println(reply);

            // the same without waiting, and with a deadline of its own
            CompletableFuture<Message> later = client.callAsync("echo", new Message("pixel-2", "async"),
                    Message.class, CallOptions.timeout(Duration.ofSeconds(1)));
            System.out.println(later.join());

            // metadata travels with the call; the built-in op "metadata" replies with what it received
            JsonNode seen = client.call("metadata", Map.of(), JsonNode.class,
                    CallOptions.metadata(Metadata.of("tenant", "acme")));
            System.out.println(seen.get("metadata"));

            // many calls from one thread: their requests share one socket write per connection
            List<CompletableFuture<Message>> replies = new ArrayList<>();
            client.batch(() -> List.of("a", "b", "c").forEach(id ->
                    replies.add(client.callAsync("echo", new Message(id, "batched"), Message.class))));
            System.out.println(replies.stream().map(f -> f.join().uid()).toList());

            // idempotent: may be sent again after a lost connection; hedged: with a fleet, a second
            // copy goes to another endpoint when no reply came within 20 ms, and the first reply wins
            Message hedged = client.call("echo", new Message("pixel-3", "hedged"), Message.class,
                    CallOptions.hedgeAfter(Duration.ofMillis(20)));
            System.out.println(hedged);

            // JSON you already hold as bytes: sent untouched, the reply returned unparsed, no Jackson
            // on either side; callRawAsync is the same without waiting
            byte[] json = client.callRaw("echo", "{\"uid\":\"pixel-4\",\"val\":\"raw\"}".getBytes(UTF_8));
            CompletableFuture<byte[]> rawLater = client.callRawAsync("echo", json);
            System.out.println(new String(rawLater.join(), UTF_8));

            // an error the server answered with: RemoteException, with its code and message
            try {
                client.call("fail", Map.of("code", 1001, "message", "no such pig"), Message.class);
            } catch (RemoteException e) {
                System.out.println(e.code() + " " + e.remoteMessage());
            }
        } catch (TidewireException e) {
            // one subclass per outcome: RequestTimeoutException, ConnectionLostException, ...;
            // retryable() is true only when the server certainly did not process the call
            String safe = e.retryable() ? "not processed, safe to retry: " : "failed: ";
            System.err.println(safe + e.getMessage());
            System.exit(1);
        }
    }
}
// README:end
