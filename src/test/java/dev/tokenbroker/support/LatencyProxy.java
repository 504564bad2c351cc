package dev.tokenbroker.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy on loopback that delays every chunk it forwards, either way, by a latency that tests change while it
 * runs: a slow network, or a Redis that answers late. One thread per direction per connection (test traffic only).
 */
public final class LatencyProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile long latencyMillis;

    private LatencyProxy(ServerSocket server, int targetPort) {
        this.server = server;
        this.targetPort = targetPort;
    }

    /** Forwards a new loopback port to {@code 127.0.0.1:targetPort}. */
    public static LatencyProxy start(int targetPort) throws IOException {
        ServerSocket server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        LatencyProxy proxy = new LatencyProxy(server, targetPort);
        Thread accept = new Thread(proxy::accept, "latency-proxy-accept");
        accept.setDaemon(true);
        accept.start();
        return proxy;
    }

    public int port() {
        return server.getLocalPort();
    }

    public void latency(long millis) {
        this.latencyMillis = millis;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                sockets.add(client);
                sockets.add(target);
                pump(client, target);
                pump(target, client);
            } catch (IOException e) {
                // closed, or the target refused: the client sees its connection end
            }
        }
    }

    private void pump(Socket from, Socket to) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        Thread t = new Thread(
                () -> {
                    byte[] buffer = new byte[16 * 1024];
                    try {
                        for (int n; (n = in.read(buffer)) >= 0; ) {
                            long delay = latencyMillis;
                            if (delay > 0) {
                                TimeUnit.MILLISECONDS.sleep(delay);
                            }
                            out.write(buffer, 0, n);
                            out.flush();
                        }
                    } catch (IOException | InterruptedException e) {
                        // connection ended
                    } finally {
                        closeQuietly(from);
                        closeQuietly(to);
                    }
                },
                "latency-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        sockets.forEach(LatencyProxy::closeQuietly);
    }
}
