package dev.tokenbroker.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An upstream token server with one-time refresh tokens (JDK only, loopback): any code is exchanged, once; every
 * refresh returns a new refresh token and kills the one presented; a revocation kills the token it names. A spent
 * token presented again is answered {@code invalid_grant} and counted in {@link #presentedTwice()}: the figure a
 * failover must keep at 0. It keeps a ledger of the refresh tokens it issued, spent and revoked, and can be slowed
 * down, as a busy upstream would be, to let a test hang up while it works.
 */
public final class OneTimeRefreshUpstream implements AutoCloseable {

    private final HttpServer server;
    private final Map<String, Boolean> live = new ConcurrentHashMap<>();
    private final Map<String, Boolean> spent = new ConcurrentHashMap<>();
    private final Map<String, Boolean> revoked = new ConcurrentHashMap<>();
    private final Map<String, Boolean> codes = new ConcurrentHashMap<>();
    /** Each refresh token's grant: the code it descends from. */
    private final Map<String, String> grants = new ConcurrentHashMap<>();

    private volatile boolean revocationEndsTheGrant;
    private final AtomicBoolean failNextRefresh = new AtomicBoolean();
    private volatile long delayMillis;
    private final AtomicLong refreshes = new AtomicLong();
    private final AtomicLong presentedTwice = new AtomicLong();

    public OneTimeRefreshUpstream() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/connect/token", this::token);
        server.createContext("/connect/revocation", this::revocation);
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

    /**
     * Every token request from now on is answered this much later (the upstream has acted before it answers), and every
     * revocation is read this much later.
     */
    public void delay(long millis) {
        this.delayMillis = millis;
    }

    /**
     * From now on a revocation of any refresh token, spent or not, also kills the live one of its grant (RFC 7009 §2.1
     * allows it; Keycloak ends the client session). Off, a revocation kills only the token it names, which keeps
     * tests of which token the broker revokes exact.
     */
    public void revocationEndsTheGrant(boolean ends) {
        this.revocationEndsTheGrant = ends;
    }

    /**
     * The next refresh spends the token it presents and then fails with a gateway's 502, before any new one is issued:
     * the broker cannot tell whether the token was spent.
     */
    public void failNextRefreshAfterSpending() {
        failNextRefresh.set(true);
    }

    /** Refresh tokens issued and neither spent nor revoked. */
    public Set<String> live() {
        return Set.copyOf(live.keySet());
    }

    /** Refresh tokens spent by a refresh or killed by a revocation. */
    public Set<String> dead() {
        Set<String> dead = new HashSet<>(spent.keySet());
        dead.addAll(revoked.keySet());
        return dead;
    }

    public Set<String> revoked() {
        return Set.copyOf(revoked.keySet());
    }

    private void revocation(HttpExchange exchange) throws IOException {
        // A slow revocation endpoint: a request whose sender hangs up meanwhile is never read, so never acted on.
        pause();
        String token = field(read(exchange), "token");
        if (token != null && live.remove(token) != null) {
            revoked.put(token, Boolean.TRUE);
        }
        String grant = token == null ? null : grants.get(token);
        if (revocationEndsTheGrant && grant != null) {
            for (String other : Set.copyOf(live.keySet())) {
                if (grant.equals(grants.get(other)) && live.remove(other) != null) {
                    revoked.put(other, Boolean.TRUE);
                }
            }
        }
        answer(exchange, 200, "");
    }

    private void pause() {
        try {
            Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String read(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private void token(HttpExchange exchange) throws IOException {
        String form = read(exchange);
        String grant = field(form, "grant_type");
        String code = field(form, "code");
        if ("authorization_code".equals(grant) && (code == null || codes.putIfAbsent(code, Boolean.TRUE) != null)) {
            answer(exchange, 400, "{\"error\":\"invalid_grant\"}");
            return;
        }
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
            if (failNextRefresh.getAndSet(false)) {
                answer(exchange, 502, "");
                return;
            }
        }
        String rt = "RT-" + UUID.randomUUID();
        grants.put(rt, "refresh_token".equals(grant) ? grants.get(field(form, "refresh_token")) : code);
        live.put(rt, Boolean.TRUE);
        // A refresh may ask for less than the grant (RFC 6749 §6); everything else gets all of it.
        String scope = field(form, "scope") != null ? field(form, "scope") : "openid offline_access";
        // The upstream has acted (spent, issued); its answer is late.
        pause();
        answer(
                exchange,
                200,
                "{\"access_token\":\"AT-" + UUID.randomUUID() + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                        + "\"refresh_token\":\"" + rt + "\",\"scope\":\"" + scope + "\"}");
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
