package dev.tidewire.tool;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.TidewireException;
import dev.tidewire.client.TidewireClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** {@code call}: one call to a running server through a {@link TidewireClient}; prints the reply JSON. */
final class CallCommand {
    /** What {@code call --help} prints. */
    static final CommandHelp HELP = CommandHelp.builder("call", "--address HOST:PORT --op OP [options] JSON",
            "Make one call to a running server and print the reply JSON.")
            .option("--address HOST:PORT", "the server (required)")
            .option("--op OP", "the operation (required), e.g. echo")
            .option("--timeout-ms T", "the call's deadline in milliseconds (default "
                    + TidewireClient.Builder.DEFAULT_REQUEST_TIMEOUT.toMillis() + ")")
            .option("--tls-truststore P12", "TLS: trust the server certificates this PKCS12 store signed",
                    "(default: plain TCP)")
            .option("--tls-keystore P12", "mutual TLS: present this PKCS12 key store")
            .option("--tls-password PW", "the password of the stores (needed with either)")
            .option("JSON", "the request: one JSON value, e.g. '{}' or 'null'")
            .note("Exits 0 with the reply on stdout, 1 with the failure (its type, whether it is retryable)",
                    "on stderr.")
            .example("call --address 127.0.0.1:7000 --op echo '{\"hello\":\"tide\"}'")
            .example("call --address 127.0.0.1:7000 --op sleep '{\"millis\":100}'")
            .build();

    private final String address;
    private final String op;
    private final Duration timeout;
    private final JsonNode request;
    private TlsFlags tls;           // set by parse

    private CallCommand(String address, String op, Duration timeout, JsonNode request) {
        this.address = address;
        this.op = op;
        this.timeout = timeout;
        this.request = request;
    }

    /** Reads {@code --address HOST:PORT --op OP [--timeout-ms T] JSON}. */
    static CallCommand parse(List<String> args) {
        Args a = Args.parse("call", args, TlsFlags.with(Set.of("address", "op", "timeout-ms")), Set.of());
        TlsFlags tls = TlsFlags.parse(a);
        String address = a.required("address");
        String op = a.required("op");
        Duration timeout = Duration.ofMillis(a.integer("timeout-ms",
                (int) TidewireClient.Builder.DEFAULT_REQUEST_TIMEOUT.toMillis(), 1, Integer.MAX_VALUE));
        String json = a.positional(1, "one JSON argument (the request)").get(0);
        JsonNode request;
        try {
            request = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(json);
        } catch (JsonProcessingException e) {
            throw new UsageException("the request is not valid JSON: " + e.getOriginalMessage() + " in " + json);
        }
        if (request == null || request.isMissingNode()) {
            throw new UsageException("the request is empty; give a JSON value such as '{}' or 'null'");
        }
        CallCommand command = new CallCommand(address, op, timeout, request);
        command.tls = tls;
        return command;
    }

    /** Makes the call: 0 with the reply on {@code out}, 1 with the failure on {@code err}. */
    int run(PrintStream out, PrintStream err) {
        TidewireClient client;
        try {
            client = tls.applyTo(TidewireClient.builder().address(address).maxConnections(1).requestTimeout(timeout))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        try (client) {
            out.println(client.callJson(op, request));
            return 0;
        } catch (TidewireException e) {
            err.println("error: " + e.getClass().getSimpleName() + " (retryable=" + e.retryable() + "): "
                    + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) { // an op name the protocol does not allow
            throw new UsageException(e.getMessage());
        }
    }
}
