package dev.tidewire.pool.internal.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Which endpoints a call may go to, before the {@link Balancer} chooses among them:
 * <ol>
 * <li>of the endpoints the call has not tried yet (all of them, if it has tried every one),</li>
 * <li>the healthy ones (not ejected, and ready: a connection open), of the lowest priority that
 *     has any;</li>
 * <li>if none is healthy: those not ejected, of any priority (their pools connect while the call
 *     waits, within its deadline);</li>
 * <li>if every one is ejected: all of them (panic mode: better a call to a doubtful endpoint than
 *     no call at all).</li>
 * </ol>
 * Shared by the client and the fleet simulation.
 */
public final class Candidates {
    private Candidates() {
    }

    /** A fleet member as selection sees it. */
    public interface Member {
        /** Its health. */
        EndpointHealth health();

        /** Whether it has an open connection a call can go out on at once. */
        boolean ready();
    }

    /**
     * The candidates for a call, in fleet order (a new list; the input is not changed).
     *
     * @param tried endpoints this call already tried, or null
     */
    public static <M extends Member> List<M> select(List<M> members, Predicate<M> tried, long now, long slowStartNanos) {
        List<M> pool = members;
        if (tried != null) {
            List<M> untried = new ArrayList<>(members.size());
            for (M m : members) {
                if (!tried.test(m)) {
                    untried.add(m);
                }
            }
            if (!untried.isEmpty()) {
                pool = untried;
            }
        }
        List<M> healthy = new ArrayList<>(pool.size());
        int best = Integer.MAX_VALUE;
        List<M> available = new ArrayList<>(pool.size());
        for (M m : pool) {
            if (m.health().ejected(now, slowStartNanos)) {
                continue;
            }
            available.add(m);
            if (!m.ready()) {
                continue;
            }
            int p = m.health().load().priority();
            if (p < best) {
                best = p;
                healthy.clear();
            }
            if (p == best) {
                healthy.add(m);
            }
        }
        if (!healthy.isEmpty()) {
            return healthy;
        }
        return available.isEmpty() ? new ArrayList<>(pool) : available;
    }
}
