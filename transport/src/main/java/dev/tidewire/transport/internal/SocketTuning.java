package dev.tidewire.transport.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.net.SocketOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.net.ExtendedSocketOptions;

/** Applies TCP options: no Nagle delay, and keepalive probes tuned where the platform allows. */
public final class SocketTuning {
    private static final System.Logger LOG = System.getLogger(SocketTuning.class.getName());
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private SocketTuning() {
    }

    /**
     * Sets TCP_NODELAY and, unless {@code keepAliveIdle} is zero, SO_KEEPALIVE with
     * TCP_KEEPIDLE / TCP_KEEPINTERVAL / TCP_KEEPCOUNT. Options the platform lacks are skipped and
     * logged once per process; the OS defaults (2 h idle on Linux) then apply.
     */
    public static void apply(Socket socket, Duration keepAliveIdle, Duration keepAliveInterval, int keepAliveCount)
            throws IOException {
        socket.setTcpNoDelay(true);
        if (keepAliveIdle.isZero()) {
            socket.setKeepAlive(false);
            return;
        }
        socket.setKeepAlive(true);
        boolean all = set(socket, ExtendedSocketOptions.TCP_KEEPIDLE, seconds(keepAliveIdle))
                & set(socket, ExtendedSocketOptions.TCP_KEEPINTERVAL, seconds(keepAliveInterval))
                & set(socket, ExtendedSocketOptions.TCP_KEEPCOUNT, keepAliveCount);
        if (!all && WARNED.compareAndSet(false, true)) {
            LOG.log(Level.WARNING, "this platform does not support TCP_KEEPIDLE/TCP_KEEPINTERVAL/TCP_KEEPCOUNT;"
                    + " SO_KEEPALIVE uses the OS defaults, and the heartbeat alone detects silent peers");
        }
    }

    private static boolean set(Socket socket, SocketOption<Integer> option, int value) throws IOException {
        if (!socket.supportedOptions().contains(option)) {
            return false;
        }
        socket.setOption(option, value);
        return true;
    }

    private static int seconds(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toSeconds()));
    }
}
