package dev.tokenbroker.support;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A resource server (JDK only, loopback) behind the web client {@code spa}'s API proxy, with the APIs
 * {@code orders} (everything), {@code readonly} (GET only), {@code tiny} (100-byte bodies) and {@code slow} (a 1 s
 * timeout); and {@code token-endpoint=off}, so {@code spa} is a pure BFF. {@code /v1/echo} answers what it received as
 * JSON (and headers the proxy must drop), {@code /v1/big} streams 1 MiB, {@code /v1/unauthorized} is the API's own
 * 401, {@code /v1/redirect} sends the browser elsewhere, {@code /v1/slow} answers after 3 s. {@code /v1/hello} answers
 * fixed JSON whatever it receives and tells only the test ({@link #helloAuthorizations()}) which {@code Authorization}
 * it got: a page can call it without being shown the token, as with a real API.
 */
public class ApiStubResource implements QuarkusTestResourceLifecycleManager {

    public static final int BIG = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Every {@code Authorization} value {@code /v1/hello} received, in order ("none" for a call without one). */
    private static final Queue<String> HELLO_AUTHORIZATIONS = new ConcurrentLinkedQueue<>();

    private HttpServer server;

    @Override
    public Map<String, String> start() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/v1/echo", ApiStubResource::echo);
        server.createContext("/v1/big", ApiStubResource::big);
        server.createContext("/v1/hello", ApiStubResource::hello);
        server.createContext("/v1/unauthorized", exchange -> {
            exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            send(exchange, 401, "{}");
        });
        server.createContext("/v1/redirect", exchange -> {
            exchange.getResponseHeaders().add("Location", "https://elsewhere.example/landing");
            send(exchange, 302, "");
        });
        server.createContext("/v1/slow", exchange -> {
            try {
                Thread.sleep(3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            send(exchange, 200, "{}");
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        Map<String, String> config = new HashMap<>();
        config.put("broker.clients.spa.token-endpoint", "off");
        config.put("broker.clients.spa.apis.orders.url", base);
        config.put("broker.clients.spa.apis.readonly.url", base);
        config.put("broker.clients.spa.apis.readonly.methods", "GET");
        config.put("broker.clients.spa.apis.tiny.url", base);
        config.put("broker.clients.spa.apis.tiny.max-request-body", "100");
        config.put("broker.clients.spa.apis.slow.url", base);
        config.put("broker.clients.spa.apis.slow.timeout", "1s");
        return config;
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private static void echo(HttpExchange exchange) throws IOException {
        Map<String, Object> seen = new LinkedHashMap<>();
        seen.put("method", exchange.getRequestMethod());
        seen.put("uri", exchange.getRequestURI().toString());
        seen.put("authorization", exchange.getRequestHeaders().getFirst("Authorization"));
        seen.put("cookie", exchange.getRequestHeaders().getFirst("Cookie"));
        seen.put("csrf", exchange.getRequestHeaders().getFirst("X-CSRF"));
        seen.put("origin", exchange.getRequestHeaders().getFirst("Origin"));
        seen.put("contentType", exchange.getRequestHeaders().getFirst("Content-Type"));
        seen.put("body", new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        // What the proxy must not pass to the browser, and what it must.
        exchange.getResponseHeaders().add("Set-Cookie", "api-session=1; Path=/");
        exchange.getResponseHeaders().add("X-Internal", "not-for-browsers");
        exchange.getResponseHeaders().add("ETag", "\"v1\"");
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        send(exchange, 200, JSON.writeValueAsString(seen));
    }

    /** What {@code /v1/hello} received in {@code Authorization} since the last {@link #forgetHelloAuthorizations()}. */
    public static List<String> helloAuthorizations() {
        return List.copyOf(HELLO_AUTHORIZATIONS);
    }

    public static void forgetHelloAuthorizations() {
        HELLO_AUTHORIZATIONS.clear();
    }

    private static void hello(HttpExchange exchange) throws IOException {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        HELLO_AUTHORIZATIONS.add(authorization == null ? "none" : authorization);
        exchange.getRequestBody().readAllBytes();
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        send(exchange, 200, "{\"hello\":\"world\"}");
    }

    /** 1 MiB, chunked (no Content-Length): byte i is i mod 251. */
    private static void big(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            byte[] chunk = new byte[8192];
            for (int offset = 0; offset < BIG; offset += chunk.length) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = (byte) ((offset + i) % 251);
                }
                out.write(chunk);
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
