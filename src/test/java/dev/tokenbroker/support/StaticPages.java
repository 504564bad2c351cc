package dev.tokenbroker.support;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpServer;

/** One HTML page on its own origin ({@code http://localhost:<port>/}), for a browser test: an SPA or an attacker. */
public final class StaticPages implements AutoCloseable {

    private final HttpServer server;

    private StaticPages(HttpServer server) {
        this.server = server;
    }

    /** Serves {@code html} at every path of {@code port}, on loopback. */
    public static StaticPages serve(int port, String html) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        byte[] body = html.getBytes(StandardCharsets.UTF_8);
        server.createContext("/", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return new StaticPages(server);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
