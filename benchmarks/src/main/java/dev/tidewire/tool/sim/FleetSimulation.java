package dev.tidewire.tool.sim;

import dev.tidewire.pool.internal.fleet.Balancer;
import dev.tidewire.pool.internal.fleet.Candidates;
import dev.tidewire.pool.internal.fleet.EndpointHealth;
import dev.tidewire.pool.internal.fleet.EndpointLoad;
import dev.tidewire.pool.internal.fleet.OutlierDetector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.random.RandomGenerator;

/**
 * A seeded discrete-event simulation, in virtual time, of many clients calling a fleet of servers
 * through the client's own fleet classes ({@link Candidates}, {@link Balancer}, {@link EndpointLoad},
 * {@link EndpointHealth}, {@link OutlierDetector}; not copies). No threads, no clock, no sleeping:
 * a priority queue of events (ties broken by a sequence number) and, for deadlines, which are all
 * the same length and so come due in the order calls were sent, a FIFO queue.
 *
 * <p>The model (docs/fleet-simulation.md):
 * <ul>
 * <li>servers: {@code workers} each (uniform in a range) and an unbounded FIFO queue; the service
 *     time of a call is lognormal, its median the server's own (the fleet's median times a small
 *     lognormal spread), its spread {@code serviceSigma}. A call whose deadline passed while it
 *     waited is dropped when a worker would take it (the server has the deadline; the client sends
 *     CANCEL); a call in service runs to its end. One server is {@code slowFactor} times slower;
 *     one is a black hole: it accepts calls and never answers. No network time.</li>
 * <li>clients: each has, per server, its own {@link EndpointHealth}/{@link EndpointLoad}, its own
 *     {@link Balancer} and, for the ejection strategy, its own {@link OutlierDetector}, evaluated
 *     every {@code evaluateSeconds} (each client at its own phase). A call: candidates =
 *     {@link Candidates#select}, then {@link Balancer#pick}; {@link EndpointLoad#begin} when sent;
 *     on the reply {@link EndpointLoad#end} with its latency and {@link EndpointHealth#success};
 *     at the deadline, if unanswered, a timeout: {@link EndpointLoad#end} with -1, no sample (or,
 *     with {@link Config#timeoutSample}, the time waited) and {@link EndpointHealth#failure}. One
 *     attempt per call, no retries. Nobody refuses connects: every member is ready.</li>
 * <li>arrivals: one Poisson process per client, all of the same rate, drawn as one fleet-wide
 *     process whose calls go to a uniformly drawn client (the same thing), at a total rate of
 *     {@code utilisation} times the answering servers' capacity. The arrivals (times, clients and
 *     each call's service-time quantile) come from their own random stream, so every strategy sees
 *     the very same calls; a call's quantile is kept wherever it goes (common random numbers).</li>
 * </ul>
 */
public final class FleetSimulation {
    /** How the clients choose a server. */
    public enum Strategy {
        /** {@link Balancer#roundRobin()}, no outlier ejection. */
        ROUND_ROBIN("round-robin"),
        /** {@link Balancer#LEAST_LOADED} (P2C, peak EWMA), no outlier ejection. */
        P2C("p2c"),
        /** {@link Balancer#LEAST_LOADED} and an {@link OutlierDetector} per client. */
        P2C_EJECTION("p2c+ejection");

        private final String label;

        Strategy(String label) {
            this.label = label;
        }

        /** The name in tables, JSON and charts. */
        public String label() {
            return label;
        }
    }

    /**
     * The model's parameters.
     *
     * @param seed               seeds every random stream (fleet, arrivals, each client)
     * @param servers            servers in the fleet (at least 3: one slow, one black hole)
     * @param clients            clients, each with its own view of every server
     * @param seconds            virtual seconds of arrivals (calls then run to their end)
     * @param minWorkers         fewest workers of a server
     * @param maxWorkers         most workers of a server
     * @param medianMs           the fleet's median service time
     * @param medianSpread       sigma of the lognormal spread of server medians (clamped to ±2 sigma)
     * @param serviceSigma       sigma of a call's lognormal service time around its server's median
     * @param slowFactor         how many times slower the slow server is
     * @param utilisation        offered load as a share of the answering servers' capacity
     * @param deadlineMs         each call's deadline
     * @param evaluateSeconds    outlier detection interval
     * @param initialLatencyMs   the latency an {@link EndpointLoad} assumes before its first sample
     * @param timeoutSample      true: a timeout ends its load with the time it waited (a peak
     *                           sample); false: with -1 (no sample)
     * @param detector           the ejection strategy's detector settings
     * @param maxConnections     the client pool sizes to count connections for
     * @param slowServer         index of the slow server
     * @param blackholeServer    index of the black hole
     */
    public record Config(long seed, int servers, int clients, double seconds, int minWorkers, int maxWorkers,
            double medianMs, double medianSpread, double serviceSigma, double slowFactor, double utilisation,
            double deadlineMs, double evaluateSeconds, double initialLatencyMs, boolean timeoutSample,
            OutlierDetector detector, List<Integer> maxConnections, int slowServer, int blackholeServer) {

        /**
         * The default-like detector: consecutive failures 5, volume 10, ratio 0.75, 10 s to 300 s,
         * half the fleet, slow start 10 s.
         */
        public static final OutlierDetector DEFAULT_DETECTOR = new OutlierDetector(5, 10, 0.75, 10_000_000_000L,
                300_000_000_000L, 0.5, 10_000_000_000L);

        public Config {
            if (servers < 3 || clients < 1 || seconds <= 0 || minWorkers < 1 || maxWorkers < minWorkers
                    || utilisation <= 0 || deadlineMs <= 0 || evaluateSeconds <= 0 || maxConnections.isEmpty()) {
                throw new IllegalArgumentException("bad simulation config: " + this);
            }
            if (slowServer == blackholeServer || slowServer < 0 || slowServer >= servers || blackholeServer < 0
                    || blackholeServer >= servers) {
                throw new IllegalArgumentException("slow and black-hole servers must be two distinct servers");
            }
            maxConnections = List.copyOf(maxConnections);
        }

        /**
         * The standard model (docs/fleet-simulation.md) with a fleet of {@code servers} and {@code clients}:
         * 6 to 8 workers, median 10 ms (spread sigma 0.05), service sigma 0.5, server 0 ten times slower,
         * server 1 a black hole, 65 % load, deadline 1 s, detectors every 1 s with
         * {@link #DEFAULT_DETECTOR}, an initial latency estimate of 10 ms, timeouts ending their load
         * with -1, connections counted for maxConnections 1, 2 and 8.
         */
        public static Config of(long seed, int servers, int clients, double seconds) {
            return new Config(seed, servers, clients, seconds, 6, 8, 10, 0.05, 0.5, 10, 0.65, 1000, 1, 10, true,
                    DEFAULT_DETECTOR, List.of(1, 2, 8), 0, 1);
        }

        /** This config with timeouts fed to the latency average or not. */
        public Config withTimeoutSample(boolean sample) {
            return new Config(seed, servers, clients, seconds, minWorkers, maxWorkers, medianMs, medianSpread,
                    serviceSigma, slowFactor, utilisation, deadlineMs, evaluateSeconds, initialLatencyMs, sample,
                    detector, maxConnections, slowServer, blackholeServer);
        }

        /** This config with the detectors evaluating every {@code s} seconds. */
        public Config withEvaluateSeconds(double s) {
            return new Config(seed, servers, clients, seconds, minWorkers, maxWorkers, medianMs, medianSpread,
                    serviceSigma, slowFactor, utilisation, deadlineMs, s, initialLatencyMs, timeoutSample,
                    detector, maxConnections, slowServer, blackholeServer);
        }
    }

    /** One server as drawn: its workers and median service time; whether it is the slow one or the black hole. */
    public record ServerSpec(String name, int workers, double medianMs, boolean slow, boolean blackhole) {
        /** Calls per second it can serve (0 for the black hole). */
        public double capacity(double serviceSigma) {
            if (blackhole) {
                return 0;
            }
            double meanMs = medianMs * Math.exp(serviceSigma * serviceSigma / 2);
            return workers * 1000 / meanMs;
        }
    }

    /** Connections per server for one client pool size. */
    public record Connections(int maxConnections, int max, double mean, int slowServer, int blackhole) {
    }

    /** Latency percentiles, milliseconds. */
    public record Latency(double p50, double p90, double p99, double p999, double max) {
    }

    /**
     * What one strategy did.
     *
     * @param latency             percentiles of the successful calls
     * @param allCalls            percentiles of every call, a timeout counting as its deadline (the
     *                            fair comparison: a strategy that turns slow calls into timeouts
     *                            drops them from {@code latency})
     * @param sentPerServer       calls sent to each server
     * @param errorsPerServer     timeouts of the calls sent to each server
     * @param slowPerSecond       calls sent to the slow server in each virtual second
     * @param blackholePerSecond  calls sent to the black hole in each virtual second
     * @param errorsPerSecond     timeouts of the calls sent in each virtual second
     * @param slowEjectedPerSecond      clients that had the slow server ejected, at the start of each second
     * @param blackholeEjectedPerSecond clients that had the black hole ejected, at the start of each second
     * @param ejections           ejections made by all clients' detectors together, per server
     * @param utilisation         busy worker time over all worker time, answering servers, arrival window
     * @param connections         per maxConnections
     */
    public record StrategyResult(Strategy strategy, long calls, long successes, long errors, Latency latency,
            Latency allCalls, long[] sentPerServer, long[] errorsPerServer, long[] slowPerSecond,
            long[] blackholePerSecond, long[] errorsPerSecond,
            long[] slowEjectedPerSecond, long[] blackholeEjectedPerSecond, long[] ejections, double utilisation,
            List<Connections> connections) {

        public double errorRate() {
            return calls == 0 ? 0 : (double) errors / calls;
        }

        /** Share of calls sent to server {@code i}. */
        public double share(int i) {
            return calls == 0 ? 0 : (double) sentPerServer[i] / calls;
        }

        public long totalEjections() {
            return Arrays.stream(ejections).sum();
        }

        /** Ejections of servers other than the slow one and the black hole: false alarms. */
        public long otherEjections(Config config) {
            return totalEjections() - ejections[config.slowServer()] - ejections[config.blackholeServer()];
        }
    }

    /** The whole run: the config, the fleet as drawn, the offered rate and each strategy's result. */
    public record Result(Config config, List<ServerSpec> fleet, double offeredRate, double capacity,
            List<StrategyResult> strategies) {
        public StrategyResult of(Strategy s) {
            for (StrategyResult r : strategies) {
                if (r.strategy() == s) {
                    return r;
                }
            }
            throw new IllegalArgumentException(s.label());
        }
    }

    private FleetSimulation() {
    }

    /** Runs every strategy on the same fleet and the same arrivals, side by side on up to {@code threads} threads. */
    public static Result run(Config config, int threads) {
        return run(config, List.of(Strategy.values()), threads);
    }

    /**
     * Runs the given strategies on the same fleet and the same arrivals. Each strategy's run is
     * single-threaded and shares nothing mutable with the others, so running them side by side
     * ({@code threads} > 1) gives the same results as one after another.
     */
    public static Result run(Config config, List<Strategy> strategies, int threads) {
        SplittableRandom master = new SplittableRandom(config.seed());
        SplittableRandom fleetRandom = master.split();
        long arrivalSeed = master.nextLong();
        long clientSeed = master.nextLong();
        List<ServerSpec> fleet = drawFleet(config, fleetRandom);
        double capacity = 0;
        for (ServerSpec s : fleet) {
            capacity += s.capacity(config.serviceSigma());
        }
        double rate = config.utilisation() * capacity;
        List<StrategyResult> results = new ArrayList<>();
        if (threads <= 1 || strategies.size() <= 1) {
            for (Strategy s : strategies) {
                results.add(new Run(config, fleet, rate, arrivalSeed, clientSeed, s).run());
            }
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, strategies.size()), r -> {
                Thread t = new Thread(r, "fleet-simulation");
                t.setDaemon(true);
                return t;
            });
            try {
                List<Future<StrategyResult>> futures = new ArrayList<>();
                for (Strategy s : strategies) {
                    futures.add(pool.submit(() -> new Run(config, fleet, rate, arrivalSeed, clientSeed, s).run()));
                }
                for (Future<StrategyResult> f : futures) {
                    results.add(f.get());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("simulation interrupted", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("simulation failed", e.getCause());
            } finally {
                pool.shutdownNow();
            }
        }
        return new Result(config, List.copyOf(fleet), rate, capacity, List.copyOf(results));
    }

    static List<ServerSpec> drawFleet(Config c, RandomGenerator random) {
        List<ServerSpec> fleet = new ArrayList<>(c.servers());
        int digits = String.valueOf(c.servers() - 1).length();
        for (int i = 0; i < c.servers(); i++) {
            int workers = c.minWorkers() + random.nextInt(c.maxWorkers() - c.minWorkers() + 1);
            double g = Math.max(-2, Math.min(2, random.nextGaussian()));
            double median = c.medianMs() * Math.exp(c.medianSpread() * g);
            boolean slow = i == c.slowServer();
            boolean blackhole = i == c.blackholeServer();
            if (slow) {
                median *= c.slowFactor();
            }
            String name = "s" + String.format(java.util.Locale.ROOT, "%0" + digits + "d", i)
                    + (slow ? " (slow)" : blackhole ? " (black hole)" : "");
            fleet.add(new ServerSpec(name, workers, median, slow, blackhole));
        }
        return fleet;
    }

    // ---------------------------------------------------------------------------------------------

    private static final byte PENDING = 0;
    private static final byte ANSWERED = 1;
    private static final byte TIMED_OUT = 2;

    private static final long SECOND = 1_000_000_000L;

    /** A call in flight. */
    private static final class Call {
        final Member member;
        final long sent;
        final long deadline;
        final double z;
        byte state = PENDING;

        Call(Member member, long sent, long deadline, double z) {
            this.member = member;
            this.sent = sent;
            this.deadline = deadline;
            this.z = z;
        }
    }

    /** One client's view of one server. */
    private static final class Member implements Candidates.Member {
        final EndpointHealth health;
        final Server server;
        int peakInFlight;

        Member(EndpointHealth health, Server server) {
            this.health = health;
            this.server = server;
        }

        @Override
        public EndpointHealth health() {
            return health;
        }

        @Override
        public boolean ready() {
            return server.acceptsConnections;
        }
    }

    private static final class Client {
        final List<Member> members;
        final List<EndpointHealth> healths;
        final Balancer balancer;
        final OutlierDetector detector; // null: no ejection
        final RandomGenerator random;

        Client(List<Member> members, Balancer balancer, OutlierDetector detector, RandomGenerator random) {
            this.members = members;
            List<EndpointHealth> h = new ArrayList<>(members.size());
            for (Member m : members) {
                h.add(m.health);
            }
            this.healths = h;
            this.balancer = balancer;
            this.detector = detector;
            this.random = random;
        }
    }

    private static final class Server {
        final int index;
        final int workers;
        final long medianNanos;
        final boolean blackhole;
        final boolean acceptsConnections = true; // no server of this model refuses connects
        final ArrayDeque<Call> queue = new ArrayDeque<>();
        int busy;

        Server(int index, ServerSpec spec) {
            this.index = index;
            this.workers = spec.workers();
            this.medianNanos = Math.round(spec.medianMs() * 1e6);
            this.blackhole = spec.blackhole();
        }
    }

    private static final int ARRIVAL = 0;
    private static final int DONE = 1;
    private static final int EVALUATE = 2;

    private static final class Event implements Comparable<Event> {
        final long time;
        final long seq;
        final int kind;
        final Object subject;

        Event(long time, long seq, int kind, Object subject) {
            this.time = time;
            this.seq = seq;
            this.kind = kind;
            this.subject = subject;
        }

        @Override
        public int compareTo(Event o) {
            int c = Long.compare(time, o.time);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Growable array of longs. */
    private static final class Longs {
        long[] a = new long[1 << 16];
        int n;

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }
    }

    /** One strategy's run. */
    private static final class Run {
        private final Config config;
        private final Strategy strategy;
        private final Server[] servers;
        private final Client[] clients;
        private final PriorityQueue<Event> events = new PriorityQueue<>();
        private final ArrayDeque<Call> deadlines = new ArrayDeque<>();
        private final SplittableRandom arrivals;
        private final double meanGapNanos;
        private final long endNanos;
        private final long deadlineNanos;
        private final long evaluateNanos;
        private final long slowStartNanos;
        private final double serviceSigma;
        private long seq;
        private long calls;
        private long successes;
        private long errors;
        private final Longs latencies = new Longs();
        private final long[] sent;
        private final long[] failed;
        private final long[] slowPerSecond;
        private final long[] blackholePerSecond;
        private final long[] errorsPerSecond;
        private final long[] ejections;
        private final long[] slowEjected;
        private final long[] blackholeEjected;
        private long busyNanos;

        Run(Config config, List<ServerSpec> fleet, double rate, long arrivalSeed, long clientSeed, Strategy strategy) {
            this.config = config;
            this.strategy = strategy;
            this.servers = new Server[fleet.size()];
            for (int i = 0; i < servers.length; i++) {
                servers[i] = new Server(i, fleet.get(i));
            }
            this.arrivals = new SplittableRandom(arrivalSeed);
            this.meanGapNanos = 1e9 / rate;
            this.endNanos = Math.round(config.seconds() * 1e9);
            this.deadlineNanos = Math.round(config.deadlineMs() * 1e6);
            this.evaluateNanos = Math.round(config.evaluateSeconds() * 1e9);
            this.slowStartNanos = strategy == Strategy.P2C_EJECTION ? config.detector().slowStartNanos() : 0;
            this.serviceSigma = config.serviceSigma();
            int buckets = (int) Math.ceil(config.seconds());
            this.sent = new long[servers.length];
            this.failed = new long[servers.length];
            this.slowPerSecond = new long[buckets];
            this.blackholePerSecond = new long[buckets];
            this.errorsPerSecond = new long[buckets];
            this.ejections = new long[servers.length];
            this.slowEjected = new long[buckets];
            this.blackholeEjected = new long[buckets];
            long initial = Math.round(config.initialLatencyMs() * 1e6);
            SplittableRandom seeds = new SplittableRandom(clientSeed);
            this.clients = new Client[config.clients()];
            for (int c = 0; c < clients.length; c++) {
                List<Member> members = new ArrayList<>(servers.length);
                for (Server s : servers) {
                    members.add(new Member(new EndpointHealth(new EndpointLoad(0, 1, initial, 0)), s));
                }
                Balancer balancer = strategy == Strategy.ROUND_ROBIN ? Balancer.roundRobin() : Balancer.LEAST_LOADED;
                OutlierDetector d = config.detector();
                OutlierDetector detector = strategy == Strategy.P2C_EJECTION // each client its own, as in the client
                        ? new OutlierDetector(d.consecutiveFailures(), d.minVolume(), d.successRateRatio(),
                                d.baseEjectionNanos(), d.maxEjectionNanos(), d.maxEjectedShare(), d.slowStartNanos())
                        : null;
                clients[c] = new Client(List.copyOf(members), balancer, detector, new SplittableRandom(seeds.nextLong()));
            }
        }

        StrategyResult run() {
            schedule(gap(), ARRIVAL, null);
            if (strategy == Strategy.P2C_EJECTION) {
                for (int c = 0; c < clients.length; c++) {
                    // each client's detector ticks at its own phase within the interval
                    long phase = evaluateNanos * (c + 1) / clients.length;
                    schedule(phase, EVALUATE, clients[c]);
                }
            }
            while (true) {
                Event e = events.peek();
                Call due = deadlines.peekFirst();
                if (due != null && (e == null || due.deadline < e.time)) {
                    deadlines.pollFirst();
                    if (due.state == PENDING) {
                        timeout(due);
                    }
                    continue;
                }
                if (e == null) {
                    break;
                }
                events.poll();
                switch (e.kind) {
                    case ARRIVAL -> arrival(e.time);
                    case DONE -> done((Call) e.subject, e.time);
                    default -> evaluate((Client) e.subject, e.time);
                }
            }
            return result();
        }

        private long gap() {
            return Math.max(1, Math.round(arrivals.nextExponential() * meanGapNanos));
        }

        private void schedule(long time, int kind, Object subject) {
            events.add(new Event(time, seq++, kind, subject));
        }

        private void arrival(long now) {
            Client client = clients[arrivals.nextInt(clients.length)];
            double z = arrivals.nextGaussian();
            long next = now + gap();
            if (next < endNanos) {
                schedule(next, ARRIVAL, null);
            }
            List<Member> candidates = Candidates.select(client.members, null, now, slowStartNanos);
            Member m = candidates.get(client.balancer.pick(candidates, now, client.random));
            EndpointLoad load = m.health.load();
            load.begin();
            m.peakInFlight = Math.max(m.peakInFlight, load.inFlight());
            Server s = m.server;
            calls++;
            sent[s.index]++;
            int second = (int) (now / SECOND);
            if (s.index == config.slowServer()) {
                slowPerSecond[second]++;
            } else if (s.index == config.blackholeServer()) {
                blackholePerSecond[second]++;
            }
            Call call = new Call(m, now, now + deadlineNanos, z);
            deadlines.addLast(call);
            if (s.blackhole) {
                return; // accepted, never answered
            }
            if (s.busy < s.workers) {
                start(s, call, now);
            } else {
                s.queue.addLast(call);
            }
        }

        private void start(Server s, Call call, long now) {
            s.busy++;
            long service = Math.max(1, Math.round(s.medianNanos * Math.exp(serviceSigma * call.z)));
            if (now < endNanos) {
                busyNanos += Math.min(service, endNanos - now);
            }
            schedule(now + service, DONE, call);
        }

        private void done(Call call, long now) {
            Server s = call.member.server;
            s.busy--;
            if (call.state == PENDING) {
                call.state = ANSWERED;
                long latency = now - call.sent;
                call.member.health.load().end(latency, now);
                call.member.health.success();
                successes++;
                latencies.add(latency);
            }
            // else: a late reply to a call that timed out, dropped
            Call next;
            while ((next = s.queue.pollFirst()) != null) {
                if (next.state == PENDING) {
                    start(s, next, now);
                    break;
                }
                // its deadline passed while it waited: dropped unserved
            }
        }

        private void timeout(Call call) {
            call.state = TIMED_OUT;
            long now = call.deadline;
            call.member.health.load().end(config.timeoutSample() ? now - call.sent : -1, now, true);
            call.member.health.failure();
            errors++;
            failed[call.member.server.index]++;
            errorsPerSecond[(int) (call.sent / SECOND)]++;
        }

        private void evaluate(Client client, long now) {
            List<OutlierDetector.Ejection> made = client.detector.evaluate(client.healths, now, client.random);
            for (OutlierDetector.Ejection e : made) {
                int server = client.healths.indexOf(e.endpoint());
                ejections[server]++;
                long[] covered = server == config.slowServer() ? slowEjected
                        : server == config.blackholeServer() ? blackholeEjected : null;
                if (covered != null) { // the seconds whose start the ejection spans
                    for (long t = (now + SECOND - 1) / SECOND; t < covered.length && t * SECOND < now + e.nanos(); t++) {
                        covered[(int) t]++;
                    }
                }
            }
            if (now + evaluateNanos < endNanos) {
                schedule(now + evaluateNanos, EVALUATE, client);
            }
        }

        private StrategyResult result() {
            long[] sorted = Arrays.copyOf(latencies.a, latencies.n);
            Arrays.sort(sorted);
            Latency latency = new Latency(pct(sorted, 0, 0.50), pct(sorted, 0, 0.90), pct(sorted, 0, 0.99),
                    pct(sorted, 0, 0.999), sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6);
            Latency all = new Latency(pct(sorted, errors, 0.50), pct(sorted, errors, 0.90), pct(sorted, errors, 0.99),
                    pct(sorted, errors, 0.999), errors > 0 ? deadlineNanos / 1e6 : latency.max());
            long workers = 0;
            for (Server s : servers) {
                if (!s.blackhole) {
                    workers += s.workers;
                }
            }
            double utilisation = (double) busyNanos / ((double) workers * endNanos);
            List<Connections> connections = new ArrayList<>();
            for (int max : config.maxConnections()) {
                long[] perServer = new long[servers.length];
                for (Client c : clients) {
                    for (Member m : c.members) {
                        if (m.peakInFlight > 0) {
                            perServer[m.server.index] += Math.min(max, m.peakInFlight);
                        }
                    }
                }
                long most = 0;
                long sum = 0;
                for (long v : perServer) {
                    most = Math.max(most, v);
                    sum += v;
                }
                connections.add(new Connections(max, (int) most, (double) sum / perServer.length,
                        (int) perServer[config.slowServer()], (int) perServer[config.blackholeServer()]));
            }
            return new StrategyResult(strategy, calls, successes, errors, latency, all, sent, failed, slowPerSecond,
                    blackholePerSecond, errorsPerSecond, slowEjected, blackholeEjected, ejections, utilisation,
                    List.copyOf(connections));
        }

        /**
         * Nearest rank, milliseconds, of the successes' latencies followed by {@code timeouts} calls
         * of the deadline (no success takes longer than the deadline, so that order is sorted).
         */
        private double pct(long[] sorted, long timeouts, double q) {
            long n = sorted.length + timeouts;
            if (n == 0) {
                return 0;
            }
            long rank = Math.max(1, (long) Math.ceil(q * n));
            return (rank <= sorted.length ? sorted[(int) rank - 1] : deadlineNanos) / 1e6;
        }
    }
}
