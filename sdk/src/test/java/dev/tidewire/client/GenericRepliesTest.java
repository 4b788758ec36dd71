package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.type.TypeFactory;
import dev.tidewire.ResponseDecodingException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Replies of generic types: the {@link TypeReference} and {@link JavaType} overloads of
 * {@code call} and {@code callAsync}, against the reference server's {@code echo} op, with the
 * client's default options (and the README's 2 s request timeout).
 */
class GenericRepliesTest {
    private static final TypeReference<List<Message>> MESSAGES = new TypeReference<>() { };
    private static final TypeReference<Map<String, List<Integer>>> NUMBERS = new TypeReference<>() { };
    private static final TypeFactory TYPES = TypeFactory.defaultInstance();
    private static final JavaType MESSAGES_TYPE = TYPES.constructCollectionType(List.class, Message.class);
    private static final JavaType NUMBERS_TYPE = TYPES.constructMapType(Map.class, TYPES.constructType(String.class),
            TYPES.constructCollectionType(List.class, Integer.class));

    private final List<Message> messages = List.of(new Message("pixel-1", "pixelpig!"), new Message("pixel-2", "oink"));
    private final Map<String, List<Integer>> numbers = numbers();
    private TidewireServer server;
    private TidewireClient client;

    private static Map<String, List<Integer>> numbers() {
        Map<String, List<Integer>> m = new LinkedHashMap<>();
        m.put("primes", List.of(2, 3, 5, 7));
        m.put("none", List.of());
        m.put("big", List.of(Integer.MAX_VALUE, Integer.MIN_VALUE));
        return m;
    }

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address("127.0.0.1:" + server.port()).requestTimeout(Duration.ofSeconds(2))
                .build();
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    @Test
    void aListOfMessagesAndAMapOfListsRoundTripThroughTypeReference() throws Exception {
        List<Message> list = client.call("echo", messages, MESSAGES);
        assertEquals(messages, list);
        assertInstanceOf(Message.class, list.get(0), "elements decoded as Message, not as maps");
        Map<String, List<Integer>> map = client.call("echo", numbers, NUMBERS,
                CallOptions.timeout(Duration.ofSeconds(2)));
        assertEquals(numbers, map);
        assertInstanceOf(Integer.class, map.get("primes").get(0));

        CompletableFuture<List<Message>> asyncList = client.callAsync("echo", messages, MESSAGES);
        CompletableFuture<Map<String, List<Integer>>> asyncMap = client.callAsync("echo", numbers, NUMBERS,
                CallOptions.DEFAULT);
        assertEquals(messages, asyncList.get(5, TimeUnit.SECONDS));
        assertEquals(numbers, asyncMap.get(5, TimeUnit.SECONDS));
        assertInstanceOf(Message.class, asyncList.get().get(1));
    }

    @Test
    void aListOfMessagesAndAMapOfListsRoundTripThroughJavaType() throws Exception {
        List<Message> list = client.call("echo", messages, MESSAGES_TYPE);
        assertEquals(messages, list);
        assertInstanceOf(Message.class, list.get(0), "elements decoded as Message, not as maps");
        Map<String, List<Integer>> map = client.call("echo", numbers, NUMBERS_TYPE,
                CallOptions.timeout(Duration.ofSeconds(2)));
        assertEquals(numbers, map);
        assertInstanceOf(Integer.class, map.get("big").get(1));

        CompletableFuture<List<Message>> asyncList = client.callAsync("echo", messages, MESSAGES_TYPE);
        CompletableFuture<Map<String, List<Integer>>> asyncMap = client.callAsync("echo", numbers, NUMBERS_TYPE,
                CallOptions.DEFAULT);
        assertEquals(messages, asyncList.get(5, TimeUnit.SECONDS));
        assertEquals(numbers, asyncMap.get(5, TimeUnit.SECONDS));
        assertInstanceOf(Message.class, asyncList.get().get(1));
    }

    @Test
    void aReplyThatDoesNotFitTheTypeEndsAsResponseDecodingException() {
        Map<String, String> notAList = Map.of("Uid", "pixel-1");
        ResponseDecodingException sync = assertThrows(ResponseDecodingException.class,
                () -> client.call("echo", notAList, MESSAGES));
        assertTrue(sync.getMessage().contains("java.util.List<dev.tidewire.client.Message>"), sync.getMessage());
        assertThrows(ResponseDecodingException.class, () -> client.call("echo", notAList, MESSAGES_TYPE));

        Map<String, List<String>> words = Map.of("primes", List.of("two", "three"));
        ResponseDecodingException async = decodingFailureOf(client.callAsync("echo", words, NUMBERS));
        assertTrue(async.getMessage().contains("op 'echo'"), async.getMessage());
        decodingFailureOf(client.callAsync("echo", words, NUMBERS_TYPE, CallOptions.DEFAULT));
        decodingFailureOf(client.callAsync("echo", List.of(1, 2), MESSAGES));

        // the connection is unharmed: a decoding failure is the caller's, not the transport's
        assertEquals(messages, client.call("echo", messages, MESSAGES));
        assertEquals(1, server.stats().connectionsAccepted());
    }

    @Test
    void aNullTypeIsRejectedBeforeAnythingIsSent() {
        assertNullType(() -> client.call("echo", messages, (TypeReference<List<Message>>) null));
        assertNullType(() -> client.call("echo", messages, (TypeReference<List<Message>>) null, CallOptions.DEFAULT));
        assertNullType(() -> client.call("echo", messages, (JavaType) null));
        assertNullType(() -> client.call("echo", messages, (JavaType) null, CallOptions.DEFAULT));
        assertNullType(() -> client.callAsync("echo", messages, (TypeReference<List<Message>>) null));
        assertNullType(() -> client.callAsync("echo", messages, (TypeReference<List<Message>>) null,
                CallOptions.DEFAULT));
        assertNullType(() -> client.callAsync("echo", messages, (JavaType) null));
        assertNullType(() -> client.callAsync("echo", messages, (JavaType) null, CallOptions.DEFAULT));
        assertNullType(() -> client.call("echo", messages, (Class<Message>) null));
        assertNullType(() -> client.callAsync("echo", messages, (Class<Message>) null, CallOptions.DEFAULT));
        assertEquals(0, server.stats().requests(), "no request reached the server");
        assertEquals(0, client.inFlight());
    }

    @Test
    void callsThroughInterceptorsDecodeGenericRepliesTheSameWay() throws Exception {
        AtomicInteger seen = new AtomicInteger();
        try (TidewireClient intercepted = TidewireClient.builder().address("127.0.0.1:" + server.port())
                .requestTimeout(Duration.ofSeconds(2))
                .interceptor(chain -> {
                    seen.incrementAndGet();
                    return chain.proceed(chain.metadata());
                })
                .build()) {
            assertEquals(messages, intercepted.call("echo", messages, MESSAGES));
            assertEquals(numbers, intercepted.callAsync("echo", numbers, NUMBERS_TYPE).get(5, TimeUnit.SECONDS));
            decodingFailureOf(intercepted.callAsync("echo", Map.of("a", 1), MESSAGES_TYPE));
            assertThrows(ResponseDecodingException.class, () -> intercepted.call("echo", "text", NUMBERS));
            assertEquals(4, seen.get(), "every call passed the interceptor");
        }
    }

    private static void assertNullType(Executable call) {
        NullPointerException e = assertThrows(NullPointerException.class, call);
        assertEquals("type", e.getMessage(), "names the argument");
    }

    private static ResponseDecodingException decodingFailureOf(CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(5, TimeUnit.SECONDS));
        return assertInstanceOf(ResponseDecodingException.class, e.getCause());
    }
}
