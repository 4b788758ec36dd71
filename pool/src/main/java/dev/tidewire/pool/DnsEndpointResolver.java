package dev.tidewire.pool;

import dev.tidewire.transport.internal.RateLimitedLog;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsErrorCauseException;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverTimeoutException;
import io.netty.resolver.dns.DnsServerAddressStream;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ThreadFactory;

/**
 * An {@link EndpointResolver} that finds a fleet in DNS: the A/AAAA records of a host name, each
 * with a given port ({@link #forName}), or the SRV records of a service name with their priority,
 * weight, port and target ({@link #forSrv}), targets resolved to their A/AAAA records.
 *
 * <pre>{@code
 * EndpointResolver byName = DnsEndpointResolver.forName("api.example.com", 7443).build();
 * EndpointResolver bySrv = DnsEndpointResolver.forSrv("_tidewire._tcp.example.com")
 *         .refreshInterval(Duration.ofSeconds(10))
 *         .build();
 * EndpointResolver parsed = DnsEndpointResolver.parse("dns://10.0.0.2:53/api.example.com:7443",
 *         DnsEndpointResolver.DEFAULT_REFRESH_INTERVAL);
 * }</pre>
 *
 * <p><b>Refreshing.</b> The records are looked up again when their TTL runs out (the smallest TTL
 * of the records used), but never more than {@code refreshInterval} apart and never less than
 * {@link #MIN_REFRESH} apart. After a failure the lookup is retried after {@code MIN_REFRESH},
 * then after twice as long each time, up to {@code refreshInterval}. {@link #refresh()} (a
 * connection to an endpoint failed) looks up again at once, but at most once per
 * {@code MIN_REFRESH}: hints that arrive closer together are merged into one lookup.
 *
 * <p><b>Reporting.</b> Each successful lookup reports the complete list of endpoints, sorted
 * (priority, then address, then port) and without duplicate addresses (the lowest priority
 * wins). A lookup that finds nothing (NXDOMAIN, no records, only SRV records whose target is
 * {@code "."}) or fails (timeout, server failure) is reported with {@link Listener#onError},
 * with a message naming the name and the name server, and never as an empty list: the client
 * keeps the endpoints it has. A name that answers with some records is a success even when the
 * other address family or some SRV targets do not resolve.
 *
 * <p><b>Threads.</b> Lookups are asynchronous (Netty's {@link DnsNameResolver}, with its caches
 * turned off so that every lookup asks the server). Each resolver owns one daemon thread, named
 * {@code tidewire-dns-<n>}, started by {@link #start} and stopped by {@link #close} (neither
 * waits); the listener is called only on that thread, so never concurrently.
 *
 * <p><b>Name servers.</b> By default the system's name servers ({@code /etc/resolv.conf} on Unix,
 * as Netty reads it), with its search domains and {@code ndots} for A/AAAA names, and the
 * system's hosts file. With an explicit {@link Builder#nameServer}, only that server is asked,
 * names are taken as absolute and the hosts file is not read. SRV names are always absolute.
 */
public final class DnsEndpointResolver implements EndpointResolver {
    /** Default longest time between two lookups of the same records: 30 seconds. */
    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(30);
    /**
     * Shortest time between two lookups, whatever the records' TTL and however many {@link
     * #refresh()} hints arrive: 1 second. Also the first retry delay after a failure.
     */
    public static final Duration MIN_REFRESH = Duration.ofSeconds(1);
    /** Default time a single DNS query may take: 5 seconds. */
    public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(5);

    private static final System.Logger LOG = System.getLogger(DnsEndpointResolver.class.getName());
    private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
    private static final long MIN_REFRESH_NANOS = MIN_REFRESH.toNanos();
    /** Longest name (RFC 1035: 255 octets on the wire, 253 characters written out). */
    private static final int MAX_NAME_CHARS = 253;
    /** How many name servers from the system's list an SRV query tries. */
    private static final int MAX_SYSTEM_SERVERS = 4;
    /** Priority, then IPv4 before IPv6, then address, port and weight. */
    private static final Comparator<Endpoint> ORDER = Comparator.comparingInt(Endpoint::priority)
            .thenComparingInt(e -> e.address().getAddress().getAddress().length)
            .thenComparing(e -> e.address().getAddress().getAddress(), Arrays::compareUnsigned)
            .thenComparingInt(e -> e.address().getPort())
            .thenComparingInt(Endpoint::weight);

    // a listener that throws on every lookup: one ERROR line per window
    private final RateLimitedLog listenerFailures = new RateLimitedLog(LOG);
    private final boolean srv;
    private final String name;
    private final int port;
    private final InetSocketAddress nameServer;
    private final long refreshNanos;
    private final Duration queryTimeout;

    private final Object lifecycle = new Object();
    private final AtomicBoolean hintQueued = new AtomicBoolean();
    private volatile boolean closed;
    private boolean started;
    private EventLoopGroup group;
    private volatile EventLoop loop;

    // confined to the resolver's thread
    private Listener listener;
    private DnsNameResolver dns;
    private String serverDescription;
    private List<InetSocketAddress> srvServers;
    private boolean inFlight;
    private boolean hintPending;
    private long lastStartNanos;
    private ScheduledFuture<?> next;
    private long nextAtNanos;
    private long backoffNanos = MIN_REFRESH_NANOS;

    private DnsEndpointResolver(Builder b) {
        this.srv = b.srv;
        this.name = b.name;
        this.port = b.port;
        this.nameServer = b.nameServer;
        this.refreshNanos = b.refreshInterval.toNanos();
        this.queryTimeout = b.queryTimeout;
    }

    /**
     * A resolver of the A and AAAA records of {@code host}, each address reported with {@code
     * port}, priority 0 and weight 1. Arguments are checked by {@link Builder#build()}.
     *
     * @param host a DNS name (not an IP address: use {@link EndpointResolver#of} for fixed addresses)
     * @param port the servers' port, 1..65535
     * @return a builder; {@link Builder#build()} makes the resolver
     */
    public static Builder forName(String host, int port) {
        return new Builder(false, host, port);
    }

    /**
     * A resolver of the SRV records of {@code name} (such as {@code "_tidewire._tcp.example.com"}):
     * each record's target is resolved to its A/AAAA records (from the answer's additional
     * section when the server sends them, by further queries otherwise) and each address is
     * reported with the record's port, priority and weight. Records whose target is {@code "."}
     * (RFC 2782: the service is not available there) are skipped.
     *
     * @param name the SRV record's name, absolute
     * @return a builder; {@link Builder#build()} makes the resolver
     */
    public static Builder forSrv(String name) {
        return new Builder(true, name, 0);
    }

    /**
     * Parses a target URI:
     * <ul>
     *   <li>{@code dns:///host:port}: the A/AAAA records of {@code host}, from the system's name servers;</li>
     *   <li>{@code dns://nsHost:nsPort/host:port}: the same from the name server at {@code nsHost}
     *       (an IP address; {@code [v6]} for IPv6) and {@code nsPort} (53 when left out);</li>
     *   <li>{@code srv:///name}: the SRV records of {@code name}, from the system's name servers;</li>
     *   <li>{@code srv://nsHost:nsPort/name}: the same from an explicit name server.</li>
     * </ul>
     *
     * @param target          the URI
     * @param refreshInterval longest time between two lookups (see {@link Builder#refreshInterval})
     * @return the resolver, not started
     * @throws IllegalArgumentException if {@code target} is malformed, saying what is wrong
     * @throws NullPointerException     if an argument is null
     */
    public static DnsEndpointResolver parse(String target, Duration refreshInterval) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(refreshInterval, "refreshInterval");
        String scheme;
        if (target.startsWith("dns://")) {
            scheme = "dns";
        } else if (target.startsWith("srv://")) {
            scheme = "srv";
        } else {
            throw bad(target, "it must start with dns:// (A/AAAA records) or srv:// (SRV records)");
        }
        String rest = target.substring(scheme.length() + 3);
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c <= ' ' || c == '?' || c == '#' || c == '@' || c == '\\' || c >= 0x7F) {
                throw bad(target, "it contains " + (c <= ' ' || c >= 0x7F ? "a space or non-ASCII character"
                        : "'" + c + "'") + " (no user info, query or fragment is allowed)");
            }
        }
        int slash = rest.indexOf('/');
        if (slash < 0) {
            throw bad(target, "the name must follow the authority after a '/' (" + scheme + ":///"
                    + ("dns".equals(scheme) ? "host:port" : "name") + " for the system's name servers)");
        }
        String authority = rest.substring(0, slash);
        String path = rest.substring(slash + 1);
        if (path.indexOf('/') >= 0) {
            throw bad(target, "the name must not contain '/'");
        }
        if (path.isEmpty()) {
            throw bad(target, "the " + ("dns".equals(scheme) ? "host:port" : "SRV name") + " is missing");
        }
        Builder b;
        if ("dns".equals(scheme)) {
            int colon = path.lastIndexOf(':');
            if (colon < 0) {
                throw bad(target, "'" + path + "' needs a port: dns:///host:port");
            }
            String host = path.substring(0, colon);
            int p = parsePort(target, path.substring(colon + 1), "port");
            b = forName(host, p);
        } else {
            if (path.indexOf(':') >= 0) {
                throw bad(target, "an SRV name carries no port (the SRV records give the ports): srv:///name");
            }
            b = forSrv(path);
        }
        if (!authority.isEmpty()) {
            b.nameServer(parseNameServer(target, authority));
        }
        try {
            return b.refreshInterval(refreshInterval).build();
        } catch (IllegalArgumentException e) {
            throw bad(target, e.getMessage());
        }
    }

    private static InetSocketAddress parseNameServer(String target, String authority) {
        String host;
        String portText = null;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw bad(target, "the name server's IPv6 address lacks its ']'");
            }
            host = authority.substring(1, close);
            String after = authority.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw bad(target, "unexpected '" + after + "' after the name server's address");
                }
                portText = after.substring(1);
            }
            if (!NetUtil.isValidIpV6Address(host)) {
                throw bad(target, "'" + host + "' is not an IPv6 address");
            }
        } else {
            int colon = authority.indexOf(':');
            if (colon >= 0 && authority.indexOf(':', colon + 1) >= 0) {
                throw bad(target, "an IPv6 name server address goes in brackets: [" + authority + "]:53");
            }
            host = colon < 0 ? authority : authority.substring(0, colon);
            portText = colon < 0 ? null : authority.substring(colon + 1);
            if (!NetUtil.isValidIpV4Address(host)) {
                throw bad(target, "the name server '" + host + "' must be an IP address"
                        + " (resolving a name server's name would need DNS itself)");
            }
        }
        int p = portText == null ? 53 : parsePort(target, portText, "name server port");
        byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), p);
        } catch (UnknownHostException e) { // only for a wrong length, which NetUtil does not produce
            throw bad(target, "'" + host + "' is not an IP address");
        }
    }

    private static int parsePort(String target, String text, String what) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw bad(target, "the " + what + " '" + text + "' is not a number 1..65535");
        }
        int p = Integer.parseInt(text);
        if (p < 1 || p > 0xFFFF) {
            throw bad(target, "the " + what + " " + p + " is not in 1..65535");
        }
        return p;
    }

    private static IllegalArgumentException bad(String target, String why) {
        return new IllegalArgumentException("bad DNS target '" + target + "': " + why);
    }

    /**
     * Starts the resolver's thread and the first lookup; returns at once.
     *
     * @throws IllegalStateException if called a second time
     * @throws NullPointerException  if {@code listener} is null
     */
    @Override
    public void start(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        EventLoopGroup g;
        synchronized (lifecycle) {
            if (started) {
                throw new IllegalStateException(this + " was started already");
            }
            started = true;
            if (closed) {
                return;
            }
            g = new MultiThreadIoEventLoopGroup(1, new DnsThreadFactory(), NioIoHandler.newFactory());
            group = g;
            loop = g.next();
        }
        try {
            loop.execute(() -> init(listener));
        } catch (RejectedExecutionException closedMeanwhile) {
            // close() shut the group down between the two blocks: nothing to do
        }
    }

    /**
     * Looks up again at once, or {@link #MIN_REFRESH} after the previous lookup began if that was
     * more recent; hints arriving meanwhile are merged. Returns at once; ignored before {@link
     * #start} and after {@link #close}.
     */
    @Override
    public void refresh() {
        EventLoop l = loop;
        if (l == null || closed || !hintQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            l.execute(this::onHint);
        } catch (RejectedExecutionException closedMeanwhile) {
            hintQueued.set(false);
        }
    }

    /**
     * Stops looking up and lets the resolver's thread end (without waiting for it). Once this
     * returns the listener is not called again; a call that was already running on the
     * resolver's thread may still be finishing. Idempotent.
     */
    @Override
    public void close() {
        EventLoopGroup g;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            g = group;
        }
        if (g == null) {
            return;
        }
        try {
            g.execute(() -> {
                if (dns != null) {
                    dns.close();
                }
            });
        } catch (RejectedExecutionException alreadyShuttingDown) {
            // its channels are closed by the shutdown
        }
        g.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    /** The target as a URI that {@link #parse} accepts: {@code dns:///host:port}, {@code srv://ns:port/name}. */
    @Override
    public String toString() {
        String authority = nameServer == null ? "" : hostPort(nameServer.getAddress(), nameServer.getPort());
        return (srv ? "srv://" : "dns://") + authority + "/" + (srv ? name : name + ":" + port);
    }

    private static String hostPort(InetAddress address, int port) {
        String ip = NetUtil.toAddressString(address); // IPv6 compressed: [::1]
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port;
    }

    // ---------------------------------------------------------------- on the resolver's thread

    private void init(Listener l) {
        if (closed) {
            return;
        }
        listener = l;
        try {
            dns = newDnsNameResolver();
        } catch (RuntimeException e) { // nothing a retry would mend
            report(null, new IOException("DNS: cannot set up the resolver of " + this + ": " + e.getMessage(), e));
            return;
        }
        resolveNow();
    }

    private DnsNameResolver newDnsNameResolver() {
        DnsNameResolverBuilder b = new DnsNameResolverBuilder(loop)
                .datagramChannelType(NioDatagramChannel.class)
                .socketChannelType(NioSocketChannel.class) // TCP when a UDP answer is truncated
                .queryTimeoutMillis(Math.max(1, queryTimeout.toMillis()))
                .resolveCache(NoopDnsCache.INSTANCE)
                .cnameCache(NoopDnsCnameCache.INSTANCE)
                .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE);
        if (nameServer != null) {
            b.nameServerProvider(new SingletonDnsServerAddressStreamProvider(nameServer))
                    .searchDomains(List.of())
                    .hostsFileEntriesResolver((host, types) -> null);
            serverDescription = "name server " + hostPort(nameServer.getAddress(), nameServer.getPort());
            srvServers = List.of(nameServer);
        } else {
            DnsServerAddressStream stream = DnsServerAddressStreamProviders.platformDefault()
                    .nameServerAddressStream(name);
            List<InetSocketAddress> servers = new ArrayList<>();
            for (int i = 0, n = Math.min(stream.size(), MAX_SYSTEM_SERVERS); i < n; i++) {
                InetSocketAddress s = stream.next();
                if (!servers.contains(s)) {
                    servers.add(s);
                }
            }
            srvServers = List.copyOf(servers);
            StringBuilder d = new StringBuilder("the system's name servers (");
            for (int i = 0; i < servers.size(); i++) {
                d.append(i == 0 ? "" : ", ").append(hostPort(servers.get(i).getAddress(), servers.get(i).getPort()));
            }
            serverDescription = d.append(')').toString();
        }
        return b.build();
    }

    private void onHint() {
        hintQueued.set(false);
        if (closed || dns == null) {
            return;
        }
        if (inFlight) {
            hintPending = true;
            return;
        }
        long now = System.nanoTime();
        long earliest = lastStartNanos + MIN_REFRESH_NANOS;
        if (now - earliest >= 0) {
            resolveNow();
        } else if (next == null || nextAtNanos - earliest > 0) {
            schedule(earliest - now);
        }
    }

    private void resolveNow() {
        if (next != null) {
            next.cancel(false); // when a hint comes first: harmless when it is this very task
            next = null;
        }
        if (closed) {
            return;
        }
        if (inFlight) {
            hintPending = true;
            return;
        }
        inFlight = true;
        lastStartNanos = System.nanoTime();
        Future<Found> lookup;
        try {
            lookup = srv ? lookUpSrv() : lookUpAddresses(name, port);
        } catch (RuntimeException e) {
            lookup = loop.newFailedFuture(e);
        }
        lookup.addListener(f -> finished(f));
    }

    private void finished(Future<?> f) {
        inFlight = false;
        if (closed) {
            return;
        }
        long delay;
        if (f.isSuccess()) {
            Found found = (Found) f.getNow();
            backoffNanos = MIN_REFRESH_NANOS;
            delay = Math.max(MIN_REFRESH_NANOS, Math.min(TimeUnit.SECONDS.toNanos(found.ttlSeconds), refreshNanos));
            report(found.endpoints, null);
        } else {
            delay = backoffNanos;
            backoffNanos = Math.min(backoffNanos * 2, refreshNanos);
            report(null, f.cause());
        }
        if (hintPending) {
            hintPending = false;
            delay = Math.min(delay, Math.max(0, lastStartNanos + MIN_REFRESH_NANOS - System.nanoTime()));
        }
        schedule(delay);
    }

    private void report(List<Endpoint> endpoints, Throwable error) {
        if (closed) {
            return;
        }
        try {
            if (endpoints != null) {
                listener.onEndpoints(endpoints);
            } else {
                listener.onError(error);
            }
        } catch (RuntimeException e) {
            listenerFailures.failure(System.Logger.Level.ERROR, "listener", () -> "the listener of " + this + " threw "
                    + e, e);
        }
    }

    private void schedule(long delayNanos) {
        if (closed) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        nextAtNanos = System.nanoTime() + delayNanos;
        try {
            next = loop.schedule(this::resolveNow, delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException shuttingDown) {
            next = null;
        }
    }

    /** What one lookup found: the endpoints, and the smallest TTL of the records they came from. */
    private record Found(List<Endpoint> endpoints, long ttlSeconds) {
    }

    /** Addresses found for one name, and the smallest TTL of their records. */
    private record Addresses(List<InetAddress> addresses, long ttlSeconds) {
    }

    /** Endpoints of {@code host}'s A/AAAA records, with {@code endpointPort}, priority 0 and weight 1. */
    private Future<Found> lookUpAddresses(String host, int endpointPort) {
        Promise<Found> result = loop.newPromise();
        lookUpAddresses(host).addListener(f -> {
            if (!f.isSuccess()) {
                result.setFailure(f.cause());
                return;
            }
            Addresses found = (Addresses) f.getNow();
            List<Endpoint> endpoints = new ArrayList<>(found.addresses.size());
            for (InetAddress a : found.addresses) {
                endpoints.add(Endpoint.of(new InetSocketAddress(a, endpointPort)));
            }
            result.setSuccess(new Found(sorted(endpoints), found.ttlSeconds));
        });
        return result;
    }

    /**
     * The A and AAAA records of {@code host} (each family the resolver supports), as Netty
     * resolves them (CNAMEs followed; with the system's name servers, also search domains and
     * the hosts file). Succeeds when either family has an address.
     */
    private Future<Addresses> lookUpAddresses(String host) {
        ResolvedAddressTypes types = dns.resolvedAddressTypes();
        List<DnsRecordType> families = new ArrayList<>(2);
        if (types != ResolvedAddressTypes.IPV6_ONLY) {
            families.add(DnsRecordType.A);
        }
        if (types != ResolvedAddressTypes.IPV4_ONLY) {
            families.add(DnsRecordType.AAAA);
        }
        Promise<Void> allDone = loop.newPromise();
        List<Future<List<DnsRecord>>> queries = new ArrayList<>(families.size());
        for (DnsRecordType type : families) {
            queries.add(dns.resolveAll(new DefaultDnsQuestion(host, type)));
        }
        int[] pending = {queries.size()};
        for (Future<List<DnsRecord>> query : queries) {
            query.addListener(done -> {
                if (--pending[0] == 0) {
                    allDone.setSuccess(null);
                }
            });
        }
        Promise<Addresses> result = loop.newPromise();
        allDone.addListener(done -> {
            List<InetAddress> addresses = new ArrayList<>();
            long ttl = Long.MAX_VALUE;
            List<String> failures = new ArrayList<>();
            boolean onlyNegative = true;
            for (int i = 0; i < queries.size(); i++) {
                Future<List<DnsRecord>> q = queries.get(i);
                String type = families.get(i).name();
                if (!q.isSuccess()) {
                    failures.add(type + ": " + describe(q.cause()));
                    onlyNegative &= isNegative(q.cause());
                    continue;
                }
                int before = addresses.size();
                for (DnsRecord r : q.getNow()) {
                    try {
                        InetAddress a = address(host, r);
                        if (a != null) {
                            addresses.add(a);
                            ttl = Math.min(ttl, r.timeToLive());
                        }
                    } finally {
                        ReferenceCountUtil.release(r);
                    }
                }
                if (addresses.size() == before) {
                    failures.add(type + ": no records");
                }
            }
            if (!addresses.isEmpty()) {
                result.setSuccess(new Addresses(addresses, ttl));
                return;
            }
            result.setFailure(failure("DNS: no address for '" + stripDot(host) + "' from " + serverDescription
                    + " (" + String.join("; ", failures) + ")", onlyNegative, firstCause(queries)));
        });
        return result;
    }

    private static InetAddress address(String host, DnsRecord r) {
        if (!(r instanceof DnsRawRecord raw)) {
            return null;
        }
        ByteBuf c = raw.content();
        int len = c.readableBytes();
        if ((r.type() == DnsRecordType.A && len == 4) || (r.type() == DnsRecordType.AAAA && len == 16)) {
            byte[] ip = new byte[len];
            c.getBytes(c.readerIndex(), ip);
            try {
                return InetAddress.getByAddress(stripDot(host), ip);
            } catch (UnknownHostException impossible) { // only for a wrong length
                return null;
            }
        }
        return null;
    }

    /** One SRV record; {@code target} without a trailing dot, {@code "."} for none. */
    record Srv(int priority, int weight, int port, String target, long ttl) {
    }

    /** The SRV records of {@link #name}, from the first name server that answers, their targets resolved. */
    private Future<Found> lookUpSrv() {
        Promise<Found> result = loop.newPromise();
        if (srvServers.isEmpty()) {
            return result.setFailure(new IOException("DNS: no name server to ask for the SRV records of '" + name
                    + "' (the system lists none)"));
        }
        querySrv(0, new ArrayList<>(), result);
        return result;
    }

    private void querySrv(int serverIndex, List<String> failures, Promise<Found> result) {
        InetSocketAddress server = srvServers.get(serverIndex);
        String at = hostPort(server.getAddress(), server.getPort());
        String failedAt = srvServers.size() == 1 ? "" : at + ": ";
        dns.query(server, new DefaultDnsQuestion(name, DnsRecordType.SRV)).addListener(f -> {
            if (!f.isSuccess()) {
                failures.add(failedAt + describe(f.cause()));
                if (serverIndex + 1 < srvServers.size()) {
                    querySrv(serverIndex + 1, failures, result);
                } else {
                    result.setFailure(failure("DNS: no SRV records for '" + name + "' from " + serverDescription
                            + " (" + String.join("; ", failures) + ")", false, f.cause()));
                }
                return;
            }
            @SuppressWarnings("unchecked")
            AddressedEnvelope<DnsResponse, InetSocketAddress> envelope =
                    (AddressedEnvelope<DnsResponse, InetSocketAddress>) f.getNow();
            List<Srv> records = new ArrayList<>();
            Map<String, List<InetAddress>> additional = new HashMap<>();
            Map<String, Long> additionalTtl = new HashMap<>();
            DnsResponseCode code;
            String malformed = null;
            try {
                DnsResponse response = envelope.content();
                code = response.code();
                if (code == DnsResponseCode.NOERROR) {
                    for (int i = 0, n = response.count(DnsSection.ANSWER); i < n; i++) {
                        DnsRecord r = response.recordAt(DnsSection.ANSWER, i);
                        if (r.type() == DnsRecordType.SRV && r instanceof DnsRawRecord raw) {
                            try {
                                records.add(decodeSrv(raw.content(), r.timeToLive()));
                            } catch (IllegalArgumentException e) {
                                malformed = e.getMessage();
                            }
                        }
                    }
                    for (int i = 0, n = response.count(DnsSection.ADDITIONAL); i < n; i++) {
                        DnsRecord r = response.recordAt(DnsSection.ADDITIONAL, i);
                        InetAddress a = address(r.name(), r);
                        if (a != null) {
                            String key = key(r.name());
                            additional.computeIfAbsent(key, k -> new ArrayList<>()).add(a);
                            additionalTtl.merge(key, r.timeToLive(), Math::min);
                        }
                    }
                }
            } finally {
                envelope.release();
            }
            if (code != DnsResponseCode.NOERROR) {
                boolean definitive = code == DnsResponseCode.NXDOMAIN;
                failures.add(failedAt + describe(code));
                if (!definitive && serverIndex + 1 < srvServers.size()) {
                    querySrv(serverIndex + 1, failures, result);
                } else {
                    result.setFailure(failure("DNS: no SRV records for '" + name + "' from " + serverDescription
                            + " (" + String.join("; ", failures) + ")", definitive, null));
                }
                return;
            }
            if (records.isEmpty()) {
                String why = malformed != null ? "malformed SRV record: " + malformed : "no SRV records (NODATA)";
                result.setFailure(failure("DNS: no SRV records for '" + name + "' from name server " + at
                        + " (" + why + ")", malformed == null, null));
                return;
            }
            resolveTargets(records, additional, additionalTtl, at, result);
        });
    }

    private void resolveTargets(List<Srv> records, Map<String, List<InetAddress>> additional,
                                Map<String, Long> additionalTtl, String server, Promise<Found> result) {
        List<Srv> usable = new ArrayList<>();
        for (Srv r : records) {
            if (!".".equals(r.target)) {
                usable.add(r);
            }
        }
        if (usable.isEmpty()) {
            result.setFailure(failure("DNS: the service '" + name + "' is not available, says name server " + server
                    + " (its SRV records have the target \".\")", true, null));
            return;
        }
        // the addresses of each distinct target: from the additional section, or looked up
        Map<String, Future<Addresses>> targets = new LinkedHashMap<>();
        for (Srv r : usable) {
            String key = key(r.target);
            if (targets.containsKey(key)) {
                continue;
            }
            List<InetAddress> known = additional.get(key);
            targets.put(key, known != null
                    ? loop.newSucceededFuture(new Addresses(known, additionalTtl.get(key)))
                    : lookUpAddresses(r.target + ".")); // absolute: no search domains
        }
        int[] pending = {targets.size()};
        for (Future<Addresses> t : targets.values()) {
            t.addListener(done -> {
                if (--pending[0] != 0) {
                    return;
                }
                List<Endpoint> endpoints = new ArrayList<>();
                long ttl = Long.MAX_VALUE;
                for (Srv r : usable) {
                    Future<Addresses> addresses = targets.get(key(r.target));
                    if (!addresses.isSuccess()) {
                        continue;
                    }
                    ttl = Math.min(ttl, Math.min(r.ttl, addresses.getNow().ttlSeconds));
                    for (InetAddress ip : addresses.getNow().addresses) {
                        endpoints.add(new Endpoint(new InetSocketAddress(ip, r.port), r.priority, r.weight));
                    }
                }
                if (!endpoints.isEmpty()) {
                    result.setSuccess(new Found(sorted(endpoints), ttl));
                    return;
                }
                List<String> failures = new ArrayList<>();
                for (Future<Addresses> f : targets.values()) {
                    failures.add(f.cause().getMessage());
                }
                result.setFailure(failure("DNS: none of the SRV targets of '" + name + "' resolves ("
                        + String.join("; ", failures) + ")", false, firstCause(new ArrayList<>(targets.values()))));
            });
        }
    }

    /**
     * Decodes SRV record data (RFC 2782): priority, weight, port, target. {@code content} is the
     * record's data as Netty hands it over: a view of the whole DNS message, from index 0, whose
     * reader index is at the record's data and whose writer index at its end, so that compression
     * pointers (offsets from the message's start) can be followed.
     *
     * @throws IllegalArgumentException if the data is malformed
     */
    static Srv decodeSrv(ByteBuf content, long ttl) {
        int at = content.readerIndex();
        int length = content.readableBytes();
        if (length < 7) {
            throw new IllegalArgumentException("SRV data of " + length + " bytes (at least 7 needed)");
        }
        int priority = content.getUnsignedShort(at);
        int weight = content.getUnsignedShort(at + 2);
        int port = content.getUnsignedShort(at + 4);
        String target = decodeName(content, at + 6);
        return new Srv(priority, weight, port, target, ttl);
    }

    /**
     * Decodes the domain name at index {@code start} of {@code message} (RFC 1035 4.1.4: labels
     * and compression pointers, which are offsets from index 0), reading nothing at or beyond the
     * writer index: {@code "."} for the root, otherwise the labels joined with dots (no trailing dot).
     *
     * @throws IllegalArgumentException if the name is truncated, too long or its pointers loop
     */
    static String decodeName(ByteBuf message, int start) {
        int limit = message.writerIndex();
        StringBuilder out = new StringBuilder();
        int i = start;
        int jumps = 0;
        while (true) {
            if (i >= limit) {
                throw new IllegalArgumentException("name runs past its data");
            }
            int len = message.getUnsignedByte(i);
            if ((len & 0xC0) == 0xC0) {
                if (i + 1 >= limit) {
                    throw new IllegalArgumentException("truncated compression pointer");
                }
                int to = ((len & 0x3F) << 8) | message.getUnsignedByte(i + 1);
                if (to >= i || ++jumps > 127) { // pointers point backwards; a loop ends here
                    throw new IllegalArgumentException("bad compression pointer to " + to + " at " + i);
                }
                i = to;
                continue;
            }
            if ((len & 0xC0) != 0) {
                throw new IllegalArgumentException("unknown label type 0x" + Integer.toHexString(len));
            }
            if (len == 0) {
                break;
            }
            if (i + 1 + len > limit) {
                throw new IllegalArgumentException("label runs past its data");
            }
            if (out.length() > 0) {
                out.append('.');
            }
            for (int k = 0; k < len; k++) {
                int ch = message.getUnsignedByte(i + 1 + k);
                out.append(ch > ' ' && ch < 0x7F && ch != '.' ? (char) ch : '?');
            }
            if (out.length() > MAX_NAME_CHARS) {
                throw new IllegalArgumentException("name longer than " + MAX_NAME_CHARS + " characters");
            }
            i += 1 + len;
        }
        return out.length() == 0 ? "." : out.toString();
    }

    private static List<Endpoint> sorted(List<Endpoint> endpoints) {
        List<Endpoint> all = new ArrayList<>(endpoints);
        all.sort(ORDER);
        Map<InetSocketAddress, Endpoint> unique = new LinkedHashMap<>();
        for (Endpoint e : all) {
            unique.putIfAbsent(e.address(), e);
        }
        return List.copyOf(unique.values());
    }

    private static String key(String dnsName) {
        String n = dnsName.toLowerCase(Locale.ROOT);
        return n.endsWith(".") && n.length() > 1 ? n.substring(0, n.length() - 1) : n;
    }

    private static String stripDot(String host) {
        return host.endsWith(".") && host.length() > 1 ? host.substring(0, host.length() - 1) : host;
    }

    private static Throwable firstCause(List<? extends Future<?>> futures) {
        for (Future<?> f : futures) {
            if (f.cause() != null) {
                return f.cause();
            }
        }
        return null;
    }

    /** Whether the server answered that the name or its records do not exist (as opposed to failing). */
    private static boolean isNegative(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof DnsNameResolverTimeoutException) {
                return false;
            }
            if (c instanceof DnsErrorCauseException e) {
                return e.getCode() == DnsResponseCode.NXDOMAIN;
            }
        }
        return t instanceof UnknownHostException && !DnsNameResolver.isTransportOrTimeoutError(t);
    }

    private String describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof DnsNameResolverTimeoutException || DnsNameResolver.isTimeoutError(c)) {
                return "timed out after " + queryTimeout.toMillis() + " ms";
            }
            if (c instanceof DnsErrorCauseException e) {
                return describe(e.getCode());
            }
        }
        return String.valueOf(t.getMessage());
    }

    private static String describe(DnsResponseCode code) {
        if (code == DnsResponseCode.NXDOMAIN) {
            return "NXDOMAIN: no such name";
        }
        if (code == DnsResponseCode.SERVFAIL) {
            return "SERVFAIL: the server failed";
        }
        if (code == DnsResponseCode.REFUSED) {
            return "REFUSED: the server does not answer for this name";
        }
        return code.toString();
    }

    private static IOException failure(String message, boolean negative, Throwable cause) {
        IOException e = negative ? new UnknownHostException(message) : new IOException(message);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /** Daemon threads named {@code tidewire-dns-<n>}, numbered across resolvers. */
    private static final class DnsThreadFactory implements ThreadFactory {
        @Override
        public Thread newThread(Runnable task) {
            Thread t = new FastThreadLocalThread(task, "tidewire-dns-" + THREAD_NUMBERS.incrementAndGet());
            t.setDaemon(true);
            return t;
        }
    }

    /**
     * Builds a {@link DnsEndpointResolver}; from {@link #forName} or {@link #forSrv}. Not thread-safe.
     */
    public static final class Builder {
        private final boolean srv;
        private final String name;
        private final int port;
        private InetSocketAddress nameServer;
        private Duration refreshInterval = DEFAULT_REFRESH_INTERVAL;
        private Duration queryTimeout = DEFAULT_QUERY_TIMEOUT;

        private Builder(boolean srv, String name, int port) {
            this.srv = srv;
            this.name = name;
            this.port = port;
        }

        /**
         * The name server to ask, instead of the system's (by default, {@code /etc/resolv.conf}
         * on Unix, read by Netty's default provider). With an explicit server, names are absolute
         * (no search domains) and the hosts file is not read.
         *
         * @param ns a resolved address (an IP address and a port)
         * @return this builder
         * @throws IllegalArgumentException if {@code ns} is unresolved
         */
        public Builder nameServer(InetSocketAddress ns) {
            Objects.requireNonNull(ns, "nameServer");
            if (ns.isUnresolved()) {
                throw new IllegalArgumentException("the name server " + ns.getHostString() + ":" + ns.getPort()
                        + " must be an IP address and a port");
            }
            this.nameServer = ns;
            return this;
        }

        /**
         * Longest time between two lookups (records whose TTL is longer are looked up again
         * sooner), and the longest retry delay after failures. Default {@link
         * #DEFAULT_REFRESH_INTERVAL}; at least {@link #MIN_REFRESH}.
         *
         * @param d the interval
         * @return this builder
         * @throws IllegalArgumentException if {@code d} is shorter than {@link #MIN_REFRESH}
         */
        public Builder refreshInterval(Duration d) {
            Objects.requireNonNull(d, "refreshInterval");
            if (d.compareTo(MIN_REFRESH) < 0) {
                throw new IllegalArgumentException("refreshInterval must be at least " + MIN_REFRESH.toMillis()
                        + " ms (MIN_REFRESH), was " + d.toMillis() + " ms");
            }
            this.refreshInterval = d;
            return this;
        }

        /**
         * How long one DNS query may take before it counts as failed. Default {@link #DEFAULT_QUERY_TIMEOUT}.
         *
         * @param d the timeout
         * @return this builder
         * @throws IllegalArgumentException if {@code d} is not positive
         */
        public Builder queryTimeout(Duration d) {
            Objects.requireNonNull(d, "queryTimeout");
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("queryTimeout must be positive, was " + d);
            }
            this.queryTimeout = d;
            return this;
        }

        /**
         * The resolver, not started.
         *
         * @return the resolver
         * @throws IllegalArgumentException if the name is blank or not a DNS name (an IP address,
         *                                  spaces, bad labels) or the port is not 1..65535
         */
        public DnsEndpointResolver build() {
            String what = srv ? "SRV name" : "host";
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("the " + what + " must not be blank");
            }
            checkName(what, name);
            if (!srv && (NetUtil.isValidIpV4Address(name) || NetUtil.isValidIpV6Address(name))) {
                throw new IllegalArgumentException("the host '" + name + "' is an IP address, not a DNS name"
                        + " (use EndpointResolver.of for fixed addresses)");
            }
            if (!srv && (port < 1 || port > 0xFFFF)) {
                throw new IllegalArgumentException("the port of '" + name + "' must be 1..65535, was " + port);
            }
            return new DnsEndpointResolver(this);
        }

        private static void checkName(String what, String n) {
            String body = n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
            if (body.isEmpty()) {
                throw new IllegalArgumentException("the " + what + " '" + n + "' is the root, not a name");
            }
            if (body.length() > MAX_NAME_CHARS) {
                throw new IllegalArgumentException("the " + what + " is longer than " + MAX_NAME_CHARS + " characters");
            }
            int labelStart = 0;
            for (int i = 0; i <= body.length(); i++) {
                if (i == body.length() || body.charAt(i) == '.') {
                    int len = i - labelStart;
                    if (len == 0 || len > 63) {
                        throw new IllegalArgumentException("the " + what + " '" + n + "' has "
                                + (len == 0 ? "an empty label" : "a label longer than 63 characters"));
                    }
                    labelStart = i + 1;
                    continue;
                }
                char c = body.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '-' || c == '_';
                if (!ok) {
                    throw new IllegalArgumentException("the " + what + " '" + n + "' contains '" + c
                            + "' (letters, digits, '-', '_' and '.' only; IDNs in their xn-- form)");
                }
            }
        }
    }
}
