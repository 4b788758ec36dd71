package dev.tidewire.tool.load;

/** A system under test driven by caller threads: one blocking call per invocation. */
@FunctionalInterface
public interface BlockingTarget {
    /**
     * Makes one call for {@code caller} (0-based) with sequence number {@code seq}, returning when
     * it has finished; a failed call throws. One caller's calls never overlap.
     */
    void call(int caller, long seq) throws Exception;
}
