package dev.tidewire.pool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DnsEndpointResolver} against a real DNS server ({@link Dnsmasq}) on 127.0.0.1. */
class DnsEndpointResolverTest {
    private static final String NAME = "api.example.test";
    private static final String SRV = "_tidewire._tcp.example.test";
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private Dnsmasq dnsmasq(int ttlSeconds) throws Exception {
        Dnsmasq d = Dnsmasq.start(dir, ttlSeconds);
        toClose.add(d);
        return d;
    }

    private Recorder start(DnsEndpointResolver resolver) {
        toClose.add(resolver);
        Recorder r = new Recorder();
        resolver.start(r);
        return r;
    }

    private static Endpoint ep(String ip, int port) throws UnknownHostException {
        return Endpoint.of(new InetSocketAddress(InetAddress.getByName(ip), port));
    }

    private static Endpoint ep(String ip, int port, int priority, int weight) throws UnknownHostException {
        return new Endpoint(new InetSocketAddress(InetAddress.getByName(ip), port), priority, weight);
    }

    @Test
    void reportsEveryAddressOfANameWithThePort() throws Exception {
        Dnsmasq dns = dnsmasq(30);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.3", "127.0.0.2")));
        DnsEndpointResolver resolver = DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer()).build();
        assertEquals("dns://127.0.0.1:" + dns.nameServer().getPort() + "/" + NAME + ":7001", resolver.toString());

        Recorder r = start(resolver);

        await().atMost(WAIT).until(() -> r.sets.size() == 1);
        assertEquals(List.of(ep("127.0.0.2", 7001), ep("127.0.0.3", 7001)), r.sets.get(0));
        assertEquals(NAME, r.sets.get(0).get(0).address().getHostString(), "the address keeps the name it came from");
        assertTrue(r.errors.isEmpty(), () -> "errors: " + r.errors);
        r.assertWellBehaved();
    }

    @Test
    void seesAChangedRecordWithinAboutOneTtl() throws Exception {
        Dnsmasq dns = dnsmasq(1);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        Recorder r = start(DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer())
                .refreshInterval(Duration.ofSeconds(2)).build());
        await().atMost(WAIT).until(() -> r.sets.size() >= 1);
        assertEquals(List.of(ep("127.0.0.2", 7001)), r.sets.get(0));

        dns.setHosts(Map.of(NAME, List.of("127.0.0.4", "127.0.0.5")));

        // TTL 1 s: the next lookup is at most 1 s away (plus a loaded machine's slack)
        await().atMost(Duration.ofMillis(2500))
                .until(() -> r.latest().equals(List.of(ep("127.0.0.4", 7001), ep("127.0.0.5", 7001))));
        // no cache in between: each lookup reached the server
        assertTrue(dns.queries("A", NAME) >= 2, dns::log);
        r.assertWellBehaved();
    }

    @Test
    void srvRecordsGivePriorityWeightPortAndTargets() throws Exception {
        Dnsmasq dns = dnsmasq(30);
        dns.setHosts(Map.of("t1.example.test", List.of("127.0.0.4"),
                "t2.example.test", List.of("127.0.0.5", "127.0.0.6")));
        dns.setAddress("t3.example.test", "127.0.0.7"); // not sent in the additional section: queried
        dns.setSrv(SRV, List.of(
                new Dnsmasq.Srv(20, 5, 7003, "t2.example.test"),
                new Dnsmasq.Srv(10, 60, 7001, "t1.example.test"),
                new Dnsmasq.Srv(10, 20, 7002, "t3.example.test"),
                new Dnsmasq.Srv(30, 1, 7004, ".")));
        DnsEndpointResolver resolver = DnsEndpointResolver.forSrv(SRV).nameServer(dns.nameServer()).build();
        assertEquals("srv://127.0.0.1:" + dns.nameServer().getPort() + "/" + SRV, resolver.toString());

        Recorder r = start(resolver);

        await().atMost(WAIT).until(() -> r.sets.size() == 1);
        assertEquals(List.of(
                ep("127.0.0.4", 7001, 10, 60),
                ep("127.0.0.7", 7002, 10, 20),
                ep("127.0.0.5", 7003, 20, 5),
                ep("127.0.0.6", 7003, 20, 5)), r.sets.get(0));
        assertTrue(r.errors.isEmpty(), () -> "errors: " + r.errors);
        // t1 and t2 came with the SRV answer; t3 had to be looked up
        assertEquals(0, dns.queries("A", "t1.example.test"), dns::log);
        assertEquals(0, dns.queries("A", "t2.example.test"), dns::log);
        await().atMost(WAIT).until(() -> dns.queries("A", "t3.example.test") == 1);
        r.assertWellBehaved();
    }

    @Test
    void srvRecordsThatOnlySayNotAvailableAreAnError() throws Exception {
        Dnsmasq dns = dnsmasq(30);
        dns.setSrv(SRV, List.of(new Dnsmasq.Srv(0, 0, 0, ".")));
        Recorder r = start(DnsEndpointResolver.forSrv(SRV).nameServer(dns.nameServer()).build());

        await().atMost(WAIT).until(() -> !r.errors.isEmpty());
        Throwable e = r.errors.get(0);
        assertInstanceOf(UnknownHostException.class, e);
        assertTrue(e.getMessage().contains(SRV) && e.getMessage().contains("not available"), e.getMessage());
        assertTrue(r.sets.isEmpty(), () -> "sets: " + r.sets);
        r.assertWellBehaved();
    }

    @Test
    void nxdomainIsAnErrorNamingTheNameAndTheServer() throws Exception {
        Dnsmasq dns = dnsmasq(30);
        Recorder r = start(DnsEndpointResolver.forName("nosuch.example.test", 7001).nameServer(dns.nameServer()).build());

        await().atMost(WAIT).until(() -> !r.errors.isEmpty());
        Throwable e = r.errors.get(0);
        assertInstanceOf(UnknownHostException.class, e);
        String m = e.getMessage();
        assertTrue(m.contains("'nosuch.example.test'") && m.contains("127.0.0.1:" + dns.nameServer().getPort())
                && m.contains("NXDOMAIN"), m);
        assertTrue(r.sets.isEmpty(), () -> "sets: " + r.sets);

        Recorder s = start(DnsEndpointResolver.forSrv("_nosuch._tcp.example.test").nameServer(dns.nameServer()).build());
        await().atMost(WAIT).until(() -> !s.errors.isEmpty());
        m = s.errors.get(0).getMessage();
        assertTrue(m.contains("'_nosuch._tcp.example.test'") && m.contains("127.0.0.1:" + dns.nameServer().getPort())
                && m.contains("NXDOMAIN"), m);
        assertTrue(s.sets.isEmpty(), () -> "sets: " + s.sets);
        r.assertWellBehaved();
        s.assertWellBehaved();
    }

    @Test
    void aNameThatDisappearsIsAnErrorAndNeverAnEmptyList() throws Exception {
        Dnsmasq dns = dnsmasq(1);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        Recorder r = start(DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer())
                .refreshInterval(Duration.ofSeconds(2)).build());
        await().atMost(WAIT).until(() -> r.sets.size() >= 1);

        dns.setHosts(Map.of());
        await().atMost(WAIT).until(() -> r.errors.size() >= 2); // and it keeps retrying
        assertTrue(r.errors.get(0).getMessage().contains("NXDOMAIN"), r.errors.get(0).getMessage());
        List<Endpoint> before = List.of(ep("127.0.0.2", 7001));
        assertTrue(r.sets.stream().allMatch(before::equals), () -> "sets: " + r.sets);

        dns.setHosts(Map.of(NAME, List.of("127.0.0.3")));
        await().atMost(WAIT).until(() -> r.latest().equals(List.of(ep("127.0.0.3", 7001))));
        r.assertWellBehaved();
    }

    @Test
    void aStoppedServerIsAnErrorAndTheResolverRecoversWhenItIsBack() throws Exception {
        Dnsmasq dns = dnsmasq(1);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        Recorder r = start(DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer())
                .refreshInterval(Duration.ofSeconds(2)).queryTimeout(Duration.ofMillis(300)).build());
        await().atMost(WAIT).until(() -> r.sets.size() >= 1);

        dns.stop();
        await().atMost(WAIT).until(() -> !r.errors.isEmpty());
        String m = r.errors.get(0).getMessage();
        assertTrue(m.contains("'" + NAME + "'") && m.contains("127.0.0.1:" + dns.nameServer().getPort())
                && m.contains("timed out"), m);
        int setsWhileDown = r.sets.size();

        dns.setHosts(Map.of(NAME, List.of("127.0.0.3"))); // written now, read when it starts
        dns.restart();
        // retries back off 1 s, 2 s, 2 s...: the next one finds the server again
        await().atMost(WAIT).until(() -> r.sets.size() > setsWhileDown
                && r.latest().equals(List.of(ep("127.0.0.3", 7001))));
        r.assertWellBehaved();
    }

    @Test
    void refreshHintsAreCoalescedToOneLookupPerSecond() throws Exception {
        Dnsmasq dns = dnsmasq(60); // the records alone would not be looked up again for 30 s
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        DnsEndpointResolver resolver = DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer()).build();
        Recorder r = start(resolver);
        await().atMost(WAIT).until(() -> r.sets.size() == 1);

        for (int i = 0; i < 50; i++) {
            resolver.refresh();
        }
        // the first lookup was less than a second ago: one more lookup, a second after it
        await().atMost(Duration.ofSeconds(5)).during(Duration.ofMillis(1500)).until(() -> r.sets.size() <= 2);
        await().atMost(WAIT).until(() -> r.sets.size() == 2);
        assertEquals(2, dns.queries("A", NAME), dns::log);

        // hints more than a second after the last lookup: acted on at once, still once
        await().atMost(WAIT).until(() -> System.nanoTime() - r.lastCallNanos > Duration.ofMillis(1100).toNanos());
        for (int i = 0; i < 50; i++) {
            resolver.refresh();
        }
        await().atMost(Duration.ofMillis(900)).until(() -> r.sets.size() == 3);
        await().atMost(Duration.ofSeconds(3)).during(Duration.ofMillis(1500)).until(() -> r.sets.size() == 4 || r.sets.size() == 3);
        assertTrue(dns.queries("A", NAME) <= 4, dns::log);
        r.assertWellBehaved();
    }

    @Test
    void closeStopsCallbacksAndEndsTheThread() throws Exception {
        Dnsmasq dns = dnsmasq(1);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        DnsEndpointResolver resolver = DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer())
                .refreshInterval(Duration.ofSeconds(1)).build();
        Recorder r = start(resolver);
        await().atMost(WAIT).until(() -> r.sets.size() >= 2); // a lookup a second
        Thread thread = r.threads.iterator().next();

        resolver.close();
        int calls = r.calls.get();
        resolver.close(); // idempotent
        resolver.refresh(); // ignored

        await().atMost(WAIT).until(() -> !thread.isAlive());
        await().atMost(WAIT).until(() -> dnsThreads().isEmpty());
        await().atMost(Duration.ofSeconds(5)).during(Duration.ofMillis(1500)).until(() -> r.calls.get() == calls);
        r.assertWellBehaved();
    }

    @Test
    void aResolverClosedBeforeItStartsNeverCallsItsListener() throws Exception {
        Dnsmasq dns = dnsmasq(1);
        dns.setHosts(Map.of(NAME, List.of("127.0.0.2")));
        DnsEndpointResolver resolver = DnsEndpointResolver.forName(NAME, 7001).nameServer(dns.nameServer()).build();
        resolver.close();
        Recorder r = start(resolver);
        assertThrows(IllegalStateException.class, () -> resolver.start(new Recorder()));
        await().atMost(Duration.ofSeconds(3)).during(Duration.ofMillis(500)).until(() -> r.calls.get() == 0);
        assertTrue(dnsThreads().isEmpty(), () -> "threads: " + dnsThreads());
    }

    private static Set<String> dnsThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("tidewire-dns-")).collect(Collectors.toSet());
    }

    @Test
    void parsesTargets() {
        assertEquals("dns:///api.example.com:7443",
                DnsEndpointResolver.parse("dns:///api.example.com:7443", Duration.ofSeconds(5)).toString());
        assertEquals("dns://10.0.0.2:53/api.example.com:7443",
                DnsEndpointResolver.parse("dns://10.0.0.2/api.example.com:7443", Duration.ofSeconds(5)).toString());
        assertEquals("dns://127.0.0.1:5353/api.example.com.:1",
                DnsEndpointResolver.parse("dns://127.0.0.1:5353/api.example.com.:1", Duration.ofSeconds(5)).toString());
        assertEquals("dns://[::1]:5353/api:65535",
                DnsEndpointResolver.parse("dns://[::1]:5353/api:65535", Duration.ofSeconds(5)).toString());
        assertEquals("srv:///_tidewire._tcp.example.com",
                DnsEndpointResolver.parse("srv:///_tidewire._tcp.example.com", Duration.ofSeconds(5)).toString());
        assertEquals("srv://127.0.0.1:5353/_tidewire._tcp.example.com",
                DnsEndpointResolver.parse("srv://127.0.0.1:5353/_tidewire._tcp.example.com", Duration.ofSeconds(5))
                        .toString());
    }

    @Test
    void rejectsMalformedTargetsSayingWhy() {
        Map<String, String> bad = Map.ofEntries(
                Map.entry("", "must start with dns://"),
                Map.entry("http://api.example.com:80", "must start with dns://"),
                Map.entry("dns:api.example.com:80", "must start with dns://"),
                Map.entry("dns://api.example.com:80", "after a '/'"),
                Map.entry("dns:///api.example.com", "needs a port"),
                Map.entry("dns:///api.example.com:", "not a number"),
                Map.entry("dns:///api.example.com:0", "not in 1..65535"),
                Map.entry("dns:///api.example.com:65536", "not in 1..65535"),
                Map.entry("dns:///api.example.com:http", "not a number"),
                Map.entry("dns:///:80", "must not be blank"),
                Map.entry("dns:///127.0.0.1:80", "is an IP address"),
                Map.entry("dns:///api..example.com:80", "empty label"),
                Map.entry("dns:///api example.com:80", "space"),
                Map.entry("dns:///api.example.com:80?x=1", "'?'"),
                Map.entry("dns:///a/b:80", "must not contain '/'"),
                Map.entry("dns://ns.example.com/api.example.com:80", "must be an IP address"),
                Map.entry("dns://127.0.0.1:99999/api.example.com:80", "name server port"),
                Map.entry("dns://::1/api.example.com:80", "in brackets"),
                Map.entry("dns://[::1/api.example.com:80", "']'"),
                Map.entry("dns://[nope]:53/api.example.com:80", "not an IPv6 address"),
                Map.entry("srv:///", "SRV name is missing"),
                Map.entry("srv:///_x._tcp.example.com:80", "carries no port"),
                Map.entry("srv://_x._tcp.example.com", "after a '/'"),
                Map.entry("srv:///_x._tcp.exa$mple.com", "contains '$'"),
                Map.entry("srv:///.", "is the root"));
        bad.forEach((target, why) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DnsEndpointResolver.parse(target, Duration.ofSeconds(5)), target);
            assertTrue(e.getMessage().contains("'" + target + "'") && e.getMessage().contains(why),
                    () -> target + " -> " + e.getMessage());
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.parse("dns:///a.example.com:80", Duration.ofMillis(500)));
        assertTrue(e.getMessage().contains("refreshInterval"), e.getMessage());
    }

    @Test
    void builderChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forName(" ", 80).build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forName(null, 80).build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forName("a.test", 0).build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forName("a.test", 65536).build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forName("::1", 80).build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forSrv("").build());
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.forSrv("x".repeat(64) + ".test").build());
        assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.forName("a.test", 80).refreshInterval(Duration.ofMillis(999)));
        assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.forName("a.test", 80).queryTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.forName("a.test", 80).queryTimeout(Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.forName("a.test", 80).nameServer(InetSocketAddress.createUnresolved("ns", 53)));
        assertEquals("dns:///a.test:80", DnsEndpointResolver.forName("a.test", 80).build().toString());
    }

    @Test
    void decodesCompressedSrvTargets() {
        // a message: 12 header bytes, then "example.test" at 12, then SRV data at 26 whose target is
        // "t1" followed by a pointer to "example.test"
        ByteBuf message = Unpooled.buffer();
        message.writeZero(12);
        writeName(message, "example", "test");
        int data = message.writerIndex();
        message.writeShort(10).writeShort(60).writeShort(7001);
        message.writeByte(2).writeBytes("t1".getBytes(StandardCharsets.US_ASCII)).writeShort(0xC000 | 12);
        ByteBuf content = message.duplicate().setIndex(data, message.writerIndex());

        DnsEndpointResolver.Srv srv = DnsEndpointResolver.decodeSrv(content, 30);

        assertEquals(new DnsEndpointResolver.Srv(10, 60, 7001, "t1.example.test", 30), srv);
        assertEquals(data, content.readerIndex(), "decoding leaves the buffer as it was");

        ByteBuf root = Unpooled.buffer().writeShort(0).writeShort(0).writeShort(0).writeByte(0);
        assertEquals(".", DnsEndpointResolver.decodeSrv(root, 1).target());

        ByteBuf loop = Unpooled.buffer().writeShort(1).writeShort(1).writeShort(1).writeShort(0xC000 | 6);
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.decodeSrv(loop, 1));
        ByteBuf truncated = Unpooled.buffer().writeShort(1).writeShort(1).writeShort(1).writeByte(5).writeByte('a');
        assertThrows(IllegalArgumentException.class, () -> DnsEndpointResolver.decodeSrv(truncated, 1));
        assertThrows(IllegalArgumentException.class,
                () -> DnsEndpointResolver.decodeSrv(Unpooled.buffer().writeShort(1), 1));
        message.release();
    }

    private static void writeName(ByteBuf b, String... labels) {
        for (String l : labels) {
            b.writeByte(l.length()).writeBytes(l.getBytes(StandardCharsets.US_ASCII));
        }
        b.writeByte(0);
    }

    /** Records what a resolver reports, and whether it reported as the SPI says. */
    private static final class Recorder implements EndpointResolver.Listener {
        final List<List<Endpoint>> sets = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final Set<Thread> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final AtomicInteger calls = new AtomicInteger();
        final List<String> violations = new CopyOnWriteArrayList<>();
        private final AtomicInteger inCall = new AtomicInteger();
        volatile long lastCallNanos;

        @Override
        public void onEndpoints(List<Endpoint> endpoints) {
            enter();
            if (endpoints.isEmpty()) {
                violations.add("an empty list");
            }
            if (endpoints.stream().map(Endpoint::address).distinct().count() != endpoints.size()) {
                violations.add("duplicates in " + endpoints);
            }
            sets.add(List.copyOf(endpoints));
            leave();
        }

        @Override
        public void onError(Throwable error) {
            enter();
            errors.add(error);
            leave();
        }

        private void enter() {
            if (inCall.incrementAndGet() != 1) {
                violations.add("concurrent calls");
            }
            Thread t = Thread.currentThread();
            if (!t.getName().startsWith("tidewire-dns-") || !t.isDaemon()) {
                violations.add("a call on " + t);
            }
            threads.add(t);
            calls.incrementAndGet();
        }

        private void leave() {
            lastCallNanos = System.nanoTime();
            inCall.decrementAndGet();
        }

        List<Endpoint> latest() {
            return sets.isEmpty() ? List.of() : sets.get(sets.size() - 1);
        }

        void assertWellBehaved() {
            assertTrue(violations.isEmpty(), () -> "violations: " + violations);
            assertEquals(1, threads.size(), () -> "threads: " + threads);
            assertFalse(sets.stream().anyMatch(List::isEmpty));
        }
    }
}
