package it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.RemoteException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.shaded.io.netty.channel.epoll.Epoll;
import dev.tidewire.shaded.io.netty.handler.ssl.OpenSsl;
import dev.tidewire.transport.internal.NettyRuntime;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Netty 4.1 of the application's own and tidewire-sdk-shaded's relocated Netty 4.2, in one JVM. */
class CoexistenceTest {
    @Test
    void theApplicationsNetty41AndTheShadedSdkBothWork() throws Exception {
        String own = io.netty.util.Version.identify().get("netty-transport").artifactVersion();
        System.out.println("application's netty-transport: " + own);
        assertTrue(own.startsWith("4.1."), own);
        assertThrows(ClassNotFoundException.class, () -> Class.forName("io.netty.channel.IoHandlerFactory"),
                "Netty 4.2's API is not on the class path unshaded");

        assertEquals("ping over Netty 4.1", netty41Echo("ping over Netty 4.1"));
        System.out.println("netty 4.1 echo: ok");

        try (TidewireServer server = TidewireServer.builder().bindAddress(InetAddress.getByName("127.0.0.1")).port(0)
                        .build().start();
                TidewireClient client = TidewireClient.builder().address("127.0.0.1:" + server.port())
                        .requestTimeout(Duration.ofSeconds(2)).build()) {
            assertEquals(new Message("it-1", "sync"), client.call("echo", new Message("it-1", "sync"), Message.class));
            assertEquals(new Message("it-2", "async"), client.callAsync("echo", new Message("it-2", "async"), Message.class)
                    .get(5, TimeUnit.SECONDS));
            RemoteException unknown = assertThrows(RemoteException.class,
                    () -> client.call("no-such-op", new Message("it-3", "unknown"), Message.class));
            assertEquals(10, unknown.code()); // UNKNOWN_OP
            System.out.println("tidewire calls: ok (sync, async, unknown op -> RemoteException " + unknown.code() + ")");
        }

        boolean epoll = Epoll.isAvailable();
        boolean openSsl = OpenSsl.isAvailable();
        System.out.println("shaded epoll available: " + epoll + (epoll ? "" : " (" + Epoll.unavailabilityCause() + ")"));
        System.out.println("shaded openssl available: " + openSsl
                + (openSsl ? " (" + OpenSsl.versionString() + ")" : " (" + OpenSsl.unavailabilityCause() + ")"));
        System.out.println("tidewire runs on: " + NettyRuntime.transportName() + ", tls " + NettyRuntime.tlsEngineName());
        boolean linuxX64 = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64");
        if (Boolean.getBoolean("expect.native")) {
            if (linuxX64) { // the natives the jar carries for this platform load under their relocated names
                assertTrue(epoll, "epoll from the shaded jar: " + Epoll.unavailabilityCause());
                assertTrue(openSsl, "OpenSSL from the shaded jar: " + OpenSsl.unavailabilityCause());
                assertEquals("epoll", NettyRuntime.transportName());
                assertEquals("openssl", NettyRuntime.tlsEngineName());
            }
        } else { // switched off: the calls above ran on the fallbacks
            assertFalse(epoll);
            assertFalse(openSsl);
            assertEquals("nio", NettyRuntime.transportName());
            assertEquals("jdk", NettyRuntime.tlsEngineName());
        }
    }

    /** A Netty 4.1 echo server and client of the application's own, on 127.0.0.1. */
    private static String netty41Echo(String text) throws Exception {
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        try {
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ctx.writeAndFlush(msg);
                                }
                            });
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            CompletableFuture<String> echoed = new CompletableFuture<>();
            StringBuilder received = new StringBuilder();
            Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                                    received.append(msg.toString(StandardCharsets.UTF_8));
                                    if (received.length() >= text.length()) {
                                        echoed.complete(received.toString());
                                    }
                                }
                            });
                        }
                    })
                    .connect("127.0.0.1", port).sync().channel();
            client.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            try {
                return echoed.get(10, TimeUnit.SECONDS);
            } finally {
                client.close().sync();
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
