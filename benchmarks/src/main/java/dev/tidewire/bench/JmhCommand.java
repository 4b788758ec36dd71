package dev.tidewire.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

/**
 * The tool's {@code jmh} command: hands every argument after {@code jmh} to
 * {@link org.openjdk.jmh.Main#main(String[])}, so the usual JMH command line works unchanged, e.g.
 * {@code java -jar tidewire-tool.jar jmh PoolBenchmark -t 64 -p config=tidewire}.
 *
 * <p>JMH itself calls {@link System#exit} when the command line is bad or a benchmark fails (exit
 * code 1); after a successful run it returns and the tool exits 0.
 */
public final class JmhCommand {
    private JmhCommand() {
    }

    /** Runs JMH with {@code args}; returns the exit code (0 done, 1 JMH could not run). */
    public static int run(List<String> args, PrintStream err) {
        try {
            org.openjdk.jmh.Main.main(args.toArray(new String[0]));
            return 0;
        } catch (IOException e) {
            err.println("error: jmh failed: " + e);
            return 1;
        }
    }
}
