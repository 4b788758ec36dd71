package dev.tidewire.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * The first handler of a server connection's pipeline, next to the socket: closes the socket at
 * once when the server decides to ({@link #closeNow()}, skipping a TLS close_notify that a client
 * which does not read could hold up), and turns the SslHandler's close after a failed handshake
 * into a lingering close: FIN, then read and drop what the client still sends until it closes or
 * {@link ServerConnection#LINGER_MILLIS} pass, so the client reads the TLS alert instead of a
 * reset. Runs on the channel's event loop.
 */
final class EdgeHandler extends ChannelDuplexHandler {
    private ChannelHandlerContext ctx;
    private boolean lingerOnClose;
    private boolean lingering;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** The next close request from the pipeline becomes a lingering close. */
    void lingerOnClose() {
        lingerOnClose = true;
    }

    /** Closes the socket now, bypassing the handlers after this one. Loop only. */
    void closeNow() {
        if (ctx != null) {
            ctx.close();
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!lingerOnClose || lingering || !ctx.channel().isActive() || !(ctx.channel() instanceof DuplexChannel d)) {
            ctx.close(promise);
            return;
        }
        lingering = true;
        // FIN once the alert has been written, not before (a FIN now would discard it)
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) w -> {
            if (!w.isSuccess() || !ctx.channel().isActive()) {
                ctx.close(promise);
                return;
            }
            d.shutdownOutput().addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    ctx.close(promise);
                }
            });
        });
        ctx.executor().schedule(() -> {
            ctx.close(promise);
        }, ServerConnection.LINGER_MILLIS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (lingering) {
            ReferenceCountUtil.release(msg); // the client's last handshake records, its HELLO: dropped
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
