package dev.tokenbroker.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An upstream token server with one-time refresh tokens (JDK only, loopback): any code is exchanged; every refresh
 * returns a new refresh token and kills the one presented. A spent token presented again is answered
 * {@code invalid_grant} and counted in {@link #presentedTwice()}: the figure a failover must keep at 0.
 */
public final class OneTimeRefreshUpstream implements AutoCloseable {

    private final HttpServer server;
    private final Map<String, Boolean> live = new ConcurrentHashMap<>();
    private final Map<String, Boolean> spent = new ConcurrentHashMap<>();
    private final AtomicLong refreshes = new AtomicLong();
    private final AtomicLong presentedTwice = new AtomicLong();

    public OneTimeRefreshUpstream() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/connect/token", this::token);
        server.createContext("/connect/revocation", exchange -> answer(exchange, 200, ""));
        server.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/connect";
    }

    public long refreshes() {
        return refreshes.get();
    }

    public long presentedTwice() {
        return presentedTwice.get();
    }

    private void token(HttpExchange exchange) throws IOException {
        String form;
        try (InputStream in = exchange.getRequestBody()) {
            form = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String grant = field(form, "grant_type");
        if ("refresh_token".equals(grant)) {
            refreshes.incrementAndGet();
            String presented = field(form, "refresh_token");
            if (presented == null || live.remove(presented) == null) {
                if (presented != null && spent.containsKey(presented)) {
                    presentedTwice.incrementAndGet();
                }
                answer(exchange, 400, "{\"error\":\"invalid_grant\"}");
                return;
            }
            spent.put(presented, Boolean.TRUE);
        }
        String rt = "RT-" + UUID.randomUUID();
        live.put(rt, Boolean.TRUE);
        answer(
                exchange,
                200,
                "{\"access_token\":\"AT-" + UUID.randomUUID() + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                        + "\"refresh_token\":\"" + rt + "\",\"scope\":\"openid offline_access\"}");
    }

    private static String field(String form, String name) {
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals(name)) {
                return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (var out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
