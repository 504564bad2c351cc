import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Load generator and driver of the token-broker benchmark (JDK only). Closed loop: N virtual users, each one
 * thread with its own keep-alive connection(s), each sending its next request when the previous answer has
 * arrived. A virtual user owns its sessions and always presents the refresh_token of the latest response for a
 * session (handles may rotate on every refresh and may have any format).
 *
 * <pre>
 * java -cp bench/target/classes Load freeports N          N free loopback ports, one per line
 * java -cp bench/target/classes Load wait URL... [timeout=S] until every URL answers 200
 * java -cp bench/target/classes Load run key=value...     the benchmark; see Config below and bench/README.md
 * java -cp bench/target/classes Load upstream-check URL CONNS SECONDS   the upstream alone: refresh grants/s
 * </pre>
 */
public final class Load {

    // ------------------------------------------------------------------------------------------------ config

    static final class Config {
        String brokerA; // refresh-reuse-window=0s
        String brokerB; // refresh-reuse-window=1h
        String brokerC; // second replica of A (same Redis, window 0s)
        String managementA, managementB, managementC; // their management interfaces: /q/metrics
        long pidA, pidB, pidC;
        String brokerD; // web mode with the API proxy (only with api-proxy rows)
        String managementD;
        long pidD;
        String api; // bench/Api.java: the API behind the proxy (only with api rows)
        long apiPid;
        String webClientId = "bench-web";
        String appOrigin = "http://127.0.0.1:1"; // the SPA's origin: sent as Origin, return_to is on it
        String upstream;
        int redisPort;
        long clkTck = 100;
        int[] conns = {10, 50};
        double warmup = 5, measure = 15, initialWarmup = 15;
        int sessionsPerVu = 20;
        double revokePoolFactor = 2.0;
        /** > 0: after each row's closed-loop measurement, an open-model one at this fraction of its req/s... */
        double openFraction = 0;
        /** ...or, > 0, at this many req/s (the same for the broker and the lower bound: their p99 side by side). */
        double openRate = 0;

        String clientId = "bench";
        String clientSecret = "bench-secret";
        String redirectUri = "bench://callback";
        Path out = Path.of("bench/target/last");
        List<String> ops = new ArrayList<>(ALL_OPS);
        String jvmOpts = "";
        String notes = "";
    }

    static final List<String> ALL_OPS = List.of(
            "floor",
            "refresh-upstream",
            "refresh-2-replicas",
            "refresh-reuse",
            "exchange",
            "revoke-known",
            "revoke-unknown",
            "api-direct-1k",
            "api-proxy-1k",
            "api-direct-100k",
            "api-proxy-100k");

    /** The API proxy's path prefix at broker d for the bench API ({@code broker.clients.web.apis.bench.url}). */
    static final String PROXY_PREFIX = "/bff/api/bench/";

    static boolean apiRow(String op) {
        return op.startsWith("api-");
    }

    /** "1k" or "100k": the API path, and the size it answers with. */
    static String apiName(String op) {
        return op.substring(op.lastIndexOf('-') + 1);
    }

    static int apiSize(String op) {
        return apiName(op).equals("100k") ? Api.LARGE : Api.SMALL;
    }

    /** Hard per-VU request cap of any phase: every loop is bounded in count as well as in time. */
    static final long MAX_REQUESTS_PER_VU_PHASE = 5_000_000;

    static Config cfg;

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: Load freeports N | wait URL... | run key=value...");
        }
        switch (args[0]) {
            case "freeports" -> freePorts(Integer.parseInt(args[1]));
            case "wait" -> System.exit(waitReady(Arrays.copyOfRange(args, 1, args.length)) ? 0 : 1);
            case "run" -> System.exit(run(Arrays.copyOfRange(args, 1, args.length)));
            case "upstream-check" -> upstreamCheck(args[1], Integer.parseInt(args[2]), Double.parseDouble(args[3]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    static void freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                System.out.println(s.getLocalPort());
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    static boolean waitReady(String[] args) throws InterruptedException {
        double timeout = 120;
        List<String> urls = new ArrayList<>();
        for (String a : args) {
            if (a.startsWith("timeout=")) {
                timeout = Double.parseDouble(a.substring(8));
            } else {
                urls.add(a);
            }
        }
        long deadline = System.nanoTime() + (long) (timeout * 1e9);
        for (String url : urls) {
            java.net.URI u = java.net.URI.create(url);
            for (int attempt = 0; attempt < 100_000; attempt++) {
                try (Http.Client c = new Http.Client(u.getHost(), u.getPort())) {
                    if (c.send("GET", u.getRawPath(), null, null, null) == 200) {
                        break;
                    }
                } catch (IOException e) {
                    // not yet
                }
                if (System.nanoTime() > deadline) {
                    System.err.println("not ready within " + timeout + " s: " + url);
                    return false;
                }
                Thread.sleep(100);
            }
        }
        return true;
    }

    /** The upstream alone, driven by this loader: closed-loop refresh grants (tokens obtained by code grants). */
    static void upstreamCheck(String url, int conns, double seconds) throws Exception {
        cfg = new Config();
        cfg.upstream = url;
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            Http.Client c = Http.Client.of(url);
            if (c.send("POST", "/connect/token", FORM, form("grant_type", "authorization_code", "code", "x"), null)
                    != 200) {
                throw new IOException("code grant failed");
            }
            String[] rt = {Http.jsonString(c.body(), "refresh_token")};
            vus.add(new Vu() {
                @Override
                public int step() throws IOException {
                    int s = c.send(
                            "POST",
                            "/connect/token",
                            FORM,
                            form("grant_type", "refresh_token", "refresh_token", rt[0]),
                            null);
                    if (s == 200) {
                        rt[0] = Http.jsonString(c.body(), "refresh_token");
                    }
                    return s;
                }

                @Override
                public String lastBody() {
                    return c.body();
                }

                @Override
                public void close() {
                    c.close();
                }
            });
        }
        phase(vus, Math.min(2, seconds), MAX_REQUESTS_PER_VU_PHASE, null);
        long cpu0 = loaderCpuNanos();
        PhaseResult r = phase(vus, seconds, MAX_REQUESTS_PER_VU_PHASE, null);
        long cpu1 = loaderCpuNanos();
        closeAll(vus);
        System.out.printf(
                Locale.ROOT,
                "upstream alone, %d connections: %.0f refresh grants/s, non-2xx %d, "
                        + "loader CPU %.0f us/request, statuses %s%n",
                conns,
                r.requests / r.seconds,
                r.non2xx + r.ioErrors + r.protocolErrors,
                (cpu1 - cpu0) / 1000.0 / r.requests,
                r.statuses);
    }

    static Config parse(String[] args) {
        Config c = new Config();
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("expected key=value: " + a);
            }
            String v = kv[1];
            switch (kv[0]) {
                case "broker-a" -> c.brokerA = v;
                case "broker-b" -> c.brokerB = v;
                case "broker-c" -> c.brokerC = v;
                case "management-a" -> c.managementA = v;
                case "management-b" -> c.managementB = v;
                case "management-c" -> c.managementC = v;
                case "pid-a" -> c.pidA = Long.parseLong(v);
                case "pid-b" -> c.pidB = Long.parseLong(v);
                case "pid-c" -> c.pidC = Long.parseLong(v);
                case "broker-d" -> c.brokerD = v;
                case "management-d" -> c.managementD = v;
                case "pid-d" -> c.pidD = Long.parseLong(v);
                case "api" -> c.api = v;
                case "api-pid" -> c.apiPid = Long.parseLong(v);
                case "web-client-id" -> c.webClientId = v;
                case "app-origin" -> c.appOrigin = v;
                case "upstream" -> c.upstream = v;
                case "open-model" -> c.openFraction = Double.parseDouble(v);
                case "open-rate" -> c.openRate = Double.parseDouble(v);
                case "redis-port" -> c.redisPort = Integer.parseInt(v);
                case "clk-tck" -> c.clkTck = Long.parseLong(v);
                case "conns" ->
                    c.conns = Arrays.stream(v.split(","))
                            .mapToInt(Integer::parseInt)
                            .toArray();
                case "warmup" -> c.warmup = Double.parseDouble(v);
                case "measure" -> c.measure = Double.parseDouble(v);
                case "initial-warmup" -> c.initialWarmup = Double.parseDouble(v);
                case "sessions-per-vu" -> c.sessionsPerVu = Integer.parseInt(v);
                case "revoke-pool-factor" -> c.revokePoolFactor = Double.parseDouble(v);
                case "client-id" -> c.clientId = v;
                case "client-secret" -> c.clientSecret = v;
                case "redirect-uri" -> c.redirectUri = v;
                case "out" -> c.out = Path.of(v);
                case "ops" -> c.ops = List.of(v.split(","));
                case "jvm-opts" -> c.jvmOpts = v;
                case "notes" -> c.notes = v;
                default -> throw new IllegalArgumentException("unknown key " + kv[0]);
            }
        }
        for (String op : c.ops) {
            if (!ALL_OPS.contains(op)) {
                throw new IllegalArgumentException("unknown op " + op + "; known: " + ALL_OPS);
            }
            if (apiRow(op) && c.api == null) {
                throw new IllegalArgumentException(op + " needs api=URL (bench/Api.java)");
            }
            if (op.startsWith("api-proxy") && c.brokerD == null) {
                throw new IllegalArgumentException(op + " needs broker-d=URL (a web-mode broker with the API proxy)");
            }
        }
        for (int n : c.conns) {
            if (n < 1 || n > 1000) {
                throw new IllegalArgumentException("connections must be 1..1000: " + n);
            }
        }
        return c;
    }

    // ------------------------------------------------------------------------------------------- virtual users

    /** One virtual user: a closed loop calls step() until time or count runs out or it is exhausted. */
    interface Vu extends AutoCloseable {
        /** One request; returns the HTTP status (for the floor: the upstream's). Throws on I/O or protocol error. */
        int step() throws IOException;

        /** Nothing left to do (revoke pool used up, or every owned session dead). */
        default boolean exhausted() {
            return false;
        }

        /** The body of the last answer, for error samples. */
        String lastBody();

        @Override
        void close();
    }

    static final class ProtocolError extends IOException {
        private static final long serialVersionUID = 1L;

        ProtocolError(String m) {
            super(m);
        }
    }

    static byte[] form(String... kv) {
        StringBuilder sb = new StringBuilder(128);
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) {
                sb.append('&');
            }
            sb.append(kv[i]).append('=').append(Http.enc(kv[i + 1]));
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static final String FORM = "application/x-www-form-urlencoded";
    static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    static String randomAlnum(int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = ALNUM.charAt(r.nextInt(ALNUM.length()));
        }
        return new String(c);
    }

    /** Refreshes its own sessions round robin, across one or more brokers (one connection to each). */
    static final class RefreshVu implements Vu {
        final Http.Client[] brokers;
        final String[] handles;
        final boolean[] dead;
        int live;
        long n;
        Http.Client last;

        RefreshVu(String[] brokerUrls, List<String> owned) {
            brokers = new Http.Client[brokerUrls.length];
            for (int i = 0; i < brokerUrls.length; i++) {
                brokers[i] = Http.Client.of(brokerUrls[i]);
            }
            handles = owned.toArray(new String[0]);
            dead = new boolean[handles.length];
            live = handles.length;
        }

        @Override
        public int step() throws IOException {
            int i = (int) (n % handles.length);
            for (int k = 0; dead[i] && k < handles.length; k++) {
                i = (i + 1) % handles.length;
            }
            Http.Client c = brokers[(int) (n % brokers.length)];
            n++;
            last = c;
            int status = c.send(
                    "POST",
                    "/oauth2/token",
                    FORM,
                    form("grant_type", "refresh_token", "client_id", cfg.clientId, "refresh_token", handles[i]),
                    null);
            if (status == 200) {
                String next = Http.jsonString(c.body(), "refresh_token");
                if (next == null || next.isEmpty()) {
                    throw new ProtocolError("refresh answer without refresh_token");
                }
                handles[i] = next; // the latest handle, always
            } else if (status == 400 || status == 401) {
                dead[i] = true; // invalid_grant: the session is gone; never presented again
                live--;
            }
            return status;
        }

        @Override
        public boolean exhausted() {
            return live <= 0;
        }

        @Override
        public String lastBody() {
            return last == null ? "" : last.body();
        }

        @Override
        public void close() {
            for (Http.Client c : brokers) {
                c.close();
            }
        }
    }

    /** Code exchange with a fresh code and verifier each time; optionally keeps the handles. */
    static class ExchangeVu implements Vu {
        final Http.Client c;
        final List<String> collected;
        final long limit;

        ExchangeVu(String broker, List<String> collect, long limit) {
            c = Http.Client.of(broker);
            collected = collect;
            this.limit = limit;
        }

        @Override
        public int step() throws IOException {
            int status = c.send(
                    "POST",
                    "/oauth2/token",
                    FORM,
                    form(
                            "grant_type",
                            "authorization_code",
                            "client_id",
                            cfg.clientId,
                            "code",
                            "bench-code-" + randomAlnum(24),
                            "redirect_uri",
                            cfg.redirectUri,
                            "code_verifier",
                            randomAlnum(64)),
                    null);
            if (status == 200) {
                String h = Http.jsonString(c.body(), "refresh_token");
                if (h == null || h.isEmpty()) {
                    throw new ProtocolError("exchange answer without refresh_token");
                }
                if (collected != null) {
                    collected.add(h);
                }
            }
            return status;
        }

        @Override
        public boolean exhausted() {
            return collected != null && collected.size() >= limit;
        }

        @Override
        public String lastBody() {
            return c.body();
        }

        @Override
        public void close() {
            c.close();
        }
    }

    /** Revokes pre-created sessions (each handle once), or random unknown handles shaped like real ones. */
    static final class RevokeVu implements Vu {
        final Http.Client c;
        final List<String> pool; // null: unknown handles
        final String shape;
        final long warmupBudget;
        int next;

        RevokeVu(String broker, List<String> pool, String shape, long warmupBudget) {
            c = Http.Client.of(broker);
            this.pool = pool;
            this.shape = shape;
            this.warmupBudget = warmupBudget;
        }

        @Override
        public int step() throws IOException {
            String token = pool == null ? unknownLike(shape) : pool.get(next++);
            return c.send("POST", "/oauth2/revoke", FORM, form("client_id", cfg.clientId, "token", token), null);
        }

        @Override
        public boolean exhausted() {
            return pool != null && next >= pool.size();
        }

        @Override
        public String lastBody() {
            return c.body();
        }

        @Override
        public void close() {
            c.close();
        }
    }

    /** A random handle of the same shape as a real one: letters and digits replaced, other characters kept. */
    static String unknownLike(String real) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = real.toCharArray();
        for (int i = 0; i < c.length; i++) {
            if (Character.isLetterOrDigit(c[i])) {
                c[i] = ALNUM.charAt(r.nextInt(ALNUM.length()));
            }
        }
        return new String(c);
    }

    /**
     * One GET of the bench API per step: straight to the API with a bearer token (a page that holds the token), or
     * through broker d's proxy with the session cookie, {@code X-CSRF: 1} and the app's {@code Origin} (a BFF page).
     * A 200 whose body is not the API's exact size is a protocol error.
     */
    static final class ApiVu implements Vu {
        final Http.Client c;
        final String path;
        final String headers;
        final int expected;

        ApiVu(String base, String path, String headers, int expected) {
            c = Http.Client.of(base);
            this.path = path;
            this.headers = headers;
            this.expected = expected;
        }

        static ApiVu direct(String op, String accessToken) {
            return new ApiVu(
                    cfg.api, "/api/" + apiName(op), "Authorization: Bearer " + accessToken + "\r\n", apiSize(op));
        }

        static ApiVu proxied(String op, String sessionCookie) {
            return new ApiVu(
                    cfg.brokerD,
                    PROXY_PREFIX + apiName(op),
                    "Cookie: " + SESSION_COOKIE + "=" + sessionCookie + "\r\nX-CSRF: 1\r\nOrigin: " + cfg.appOrigin
                            + "\r\n",
                    apiSize(op));
        }

        @Override
        public int step() throws IOException {
            int status = c.send("GET", path, null, null, headers);
            if (status == 200 && c.response.body.length != expected) {
                throw new ProtocolError("API answer of " + c.response.body.length + " bytes, expected " + expected);
            }
            return status;
        }

        @Override
        public String lastBody() {
            return c.body();
        }

        @Override
        public void close() {
            c.close();
        }
    }

    static final String SESSION_COOKIE = "__Host-tb-session";
    static final String LOGIN_COOKIE = "__Host-tb-login";

    /** The value of the named cookie an answer sets, or null. */
    static String setCookie(Http.Message m, String name) {
        if (m == null || m.setCookies == null) {
            return null;
        }
        for (String c : m.setCookies) {
            if (c.startsWith(name + "=")) {
                int semi = c.indexOf(';');
                return c.substring(name.length() + 1, semi < 0 ? c.length() : semi);
            }
        }
        return null;
    }

    /**
     * Web sessions at broker d, each signed in the way a browser does it (not measured): {@code GET /bff/login} (302
     * to the upstream, login cookie) → the upstream's {@code /connect/authorize} (302 to the broker's callback with
     * code and state) → {@code GET /bff/callback} with the login cookie (302, session cookie). Sequential, bounded in
     * count and time (120 s); any other answer fails the row. Returns the session cookies' values.
     */
    static List<String> webLogins(int count) throws IOException {
        List<String> sessions = new ArrayList<>(count);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        java.net.URI broker = java.net.URI.create(cfg.brokerD);
        String start =
                "/bff/login?client_id=" + Http.enc(cfg.webClientId) + "&return_to=" + Http.enc(cfg.appOrigin + "/");
        try (Http.Client c = Http.Client.of(cfg.brokerD)) {
            for (int i = 0; i < count; i++) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("web logins: only " + i + " of " + count + " within 120 s");
                }
                int s = c.send("GET", start, null, null, null);
                String login = setCookie(c.response, LOGIN_COOKIE);
                if (s != 302 || c.response.location == null || login == null) {
                    throw new IOException("web login: GET /bff/login answered " + s + " " + c.body());
                }
                java.net.URI authorize = java.net.URI.create(c.response.location);
                java.net.URI callback;
                try (Http.Client up = Http.Client.of(authorize.getScheme() + "://" + authorize.getRawAuthority())) {
                    s = up.send("GET", authorize.getRawPath() + "?" + authorize.getRawQuery(), null, null, null);
                    if (s != 302 || up.response.location == null) {
                        throw new IOException("web login: the upstream's authorize answered " + s + " " + up.body());
                    }
                    callback = java.net.URI.create(up.response.location);
                }
                if (!callback.getRawAuthority().equals(broker.getRawAuthority())
                        || !callback.getRawPath().equals("/bff/callback")) {
                    throw new IOException("web login: the upstream redirects to " + callback.getRawAuthority()
                            + callback.getRawPath() + ", not to broker d's /bff/callback");
                }
                s = c.send(
                        "GET",
                        callback.getRawPath() + "?" + callback.getRawQuery(),
                        null,
                        null,
                        "Cookie: " + LOGIN_COOKIE + "=" + login + "\r\n");
                String session = setCookie(c.response, SESSION_COOKIE);
                if (s != 302 || session == null || session.isEmpty()) {
                    throw new IOException("web login: GET /bff/callback answered " + s + " " + c.body());
                }
                sessions.add(session);
            }
        }
        return sessions;
    }

    /** An access token straight from the upstream (a code grant), as a page that holds its own token would have. */
    static String upstreamAccessToken() throws IOException {
        try (Http.Client up = Http.Client.of(cfg.upstream)) {
            int s = up.send(
                    "POST",
                    "/connect/token",
                    FORM,
                    form(
                            "grant_type",
                            "authorization_code",
                            "code",
                            "api-direct-" + randomAlnum(8),
                            "redirect_uri",
                            cfg.redirectUri,
                            "code_verifier",
                            randomAlnum(64)),
                    null);
            String at = Http.jsonString(up.body(), "access_token");
            if (s != 200 || at == null) {
                throw new IOException("access token for the direct API rows: the upstream answered " + s);
            }
            return at;
        }
    }

    /**
     * The floor: what any broker must at least do per upstream-bound refresh, done by the load generator itself
     * with no framework: HGETALL the session hash, POST the refresh to the upstream (Basic auth), HSET the new
     * refresh token and access token. Own RESP socket and own upstream connection per virtual user.
     */
    static final class FloorVu implements Vu {
        final Resp redis;
        final Http.Client up;
        final String[] keys;
        final String auth;
        long n;

        FloorVu(List<String> keys) throws IOException {
            redis = new Resp(cfg.redisPort);
            up = Http.Client.of(cfg.upstream);
            this.keys = keys.toArray(new String[0]);
            auth = "Authorization: Basic "
                    + Base64.getEncoder()
                            .encodeToString((Http.enc(cfg.clientId) + ":" + Http.enc(cfg.clientSecret))
                                    .getBytes(StandardCharsets.UTF_8))
                    + "\r\n";
        }

        @Override
        @SuppressWarnings("unchecked")
        public int step() throws IOException {
            String key = keys[(int) (n++ % keys.length)];
            List<Object> fields = (List<Object>) redis.call("HGETALL", key);
            String rt = null;
            for (int i = 0; fields != null && i + 1 < fields.size(); i += 2) {
                if ("rt".equals(fields.get(i))) {
                    rt = (String) fields.get(i + 1);
                }
            }
            if (rt == null) {
                throw new ProtocolError("floor session " + key + " has no rt");
            }
            int status = up.send(
                    "POST", "/connect/token", FORM, form("grant_type", "refresh_token", "refresh_token", rt), auth);
            if (status == 200) {
                String body = up.body();
                String next = Http.jsonString(body, "refresh_token");
                String at = Http.jsonString(body, "access_token");
                if (next == null || at == null) {
                    throw new ProtocolError("upstream answer without tokens");
                }
                redis.call("HSET", key, "rt", next, "at", at, "refreshed", Long.toString(System.currentTimeMillis()));
            }
            return status;
        }

        @Override
        public String lastBody() {
            return up.body();
        }

        @Override
        public void close() {
            try {
                redis.close();
            } catch (IOException ignored) {
                // closing
            }
            up.close();
        }
    }

    // ----------------------------------------------------------------------------------------------- phases

    static final class PhaseResult {
        long requests, non2xx, ioErrors, protocolErrors;
        double seconds;
        long[] latNanos = new long[0];
        Map<Integer, Long> statuses = new TreeMap<>();
        List<String> samples = new ArrayList<>();
        boolean exhaustedEarly;
        long behind; // open model: sends still due when the interval ended
    }

    /**
     * One virtual user on its own connection. Closed loop ({@code intervalNanos} 0): the next request when the last
     * answered, latency from its send. Open model: a request every {@code intervalNanos} from {@code firstIntended},
     * latency from the intended send time, as wrk2 measures, so a late answer also counts the requests it held up
     * (no coordinated omission); sends still due at the deadline are counted in {@code behind}.
     */
    static final class Worker extends Thread {
        final Vu vu;
        final long deadlineNanos;
        final long maxRequests;
        final CountDownLatch start;
        long intervalNanos;
        long firstIntended;
        long behind;
        long requests, non2xx, ioErrors, protocolErrors;
        long[] lat = new long[4096];
        int latN;
        final Map<Integer, Long> statuses = new TreeMap<>();
        final List<String> samples = new ArrayList<>();
        boolean exhausted;

        Worker(Vu vu, CountDownLatch start, long deadlineNanos, long maxRequests) {
            super("vu");
            this.vu = vu;
            this.start = start;
            this.deadlineNanos = deadlineNanos;
            this.maxRequests = maxRequests;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                start.await();
            } catch (InterruptedException e) {
                return;
            }
            long intended = firstIntended;
            while (requests < maxRequests && System.nanoTime() < deadlineNanos) {
                if (vu.exhausted()) {
                    exhausted = true;
                    break;
                }
                long t0 = System.nanoTime();
                if (intervalNanos > 0) {
                    if (intended >= deadlineNanos) {
                        break;
                    }
                    while (t0 < intended) {
                        LockSupport.parkNanos(intended - t0);
                        t0 = System.nanoTime();
                    }
                    t0 = intended;
                    intended += intervalNanos;
                }
                int status;
                try {
                    status = vu.step();
                } catch (ProtocolError e) {
                    protocolErrors++;
                    status = -2;
                    sample("protocol error: " + e.getMessage());
                } catch (IOException e) {
                    ioErrors++;
                    status = -1;
                    sample("I/O error: " + e);
                }
                long dt = System.nanoTime() - t0;
                requests++;
                if (latN == lat.length) {
                    lat = Arrays.copyOf(lat, lat.length * 2);
                }
                lat[latN++] = dt;
                statuses.merge(status, 1L, Long::sum);
                if (status >= 0 && (status < 200 || status > 299)) {
                    non2xx++;
                    sample("HTTP " + status + ": " + vu.lastBody());
                }
            }
            if (intervalNanos > 0 && intended < deadlineNanos) {
                behind = (deadlineNanos - intended + intervalNanos - 1) / intervalNanos;
            }
        }

        private void sample(String s) {
            if (samples.size() < 3) {
                samples.add(s.length() > 300 ? s.substring(0, 300) + "…" : s);
            }
        }
    }

    interface Probe {
        void before() throws IOException;

        void after() throws IOException;
    }

    /** Runs the VUs for {@code seconds} (and at most maxPerVu requests each); probe brackets the interval. */
    static PhaseResult phase(List<? extends Vu> vus, double seconds, long maxPerVu, Probe probe) throws Exception {
        return phase(vus, seconds, maxPerVu, probe, 0);
    }

    /** Like {@link #phase(List, double, long, Probe)}; with {@code rate} > 0 req/s, an open model at that rate. */
    static PhaseResult phase(List<? extends Vu> vus, double seconds, long maxPerVu, Probe probe, double rate)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Worker> timed = new ArrayList<>();
        long begin;
        if (probe != null) {
            probe.before();
        }
        begin = System.nanoTime();
        long deadline = begin + (long) (seconds * 1e9);
        // Open model: each VU sends rate/n per second, the VUs' schedules spread evenly over one interval.
        long interval = rate > 0 ? (long) (1e9 * vus.size() / rate) : 0;
        for (Vu vu : vus) {
            Worker w = new Worker(vu, start, deadline, maxPerVu);
            w.intervalNanos = interval;
            w.firstIntended = begin + interval * timed.size() / vus.size();
            timed.add(w);
            w.start();
        }
        start.countDown();
        for (Worker w : timed) {
            // Every request has a 30 s socket timeout: a worker cannot outlive its deadline by much more.
            w.join(TimeUnit.SECONDS.toMillis((long) seconds + 60));
            if (w.isAlive()) {
                throw new IllegalStateException("a virtual user did not stop");
            }
        }
        long end = System.nanoTime();
        if (probe != null) {
            probe.after();
        }
        PhaseResult r = new PhaseResult();
        r.seconds = (end - begin) / 1e9;
        int total = 0;
        for (Worker w : timed) {
            total += w.latN;
        }
        r.latNanos = new long[total];
        int off = 0;
        for (Worker w : timed) {
            System.arraycopy(w.lat, 0, r.latNanos, off, w.latN);
            off += w.latN;
            r.requests += w.requests;
            r.non2xx += w.non2xx;
            r.ioErrors += w.ioErrors;
            r.protocolErrors += w.protocolErrors;
            w.statuses.forEach((k, v) -> r.statuses.merge(k, v, Long::sum));
            for (String s : w.samples) {
                if (r.samples.size() < 5) {
                    r.samples.add(s);
                }
            }
            r.exhaustedEarly |= w.exhausted;
            r.behind += w.behind;
        }
        Arrays.sort(r.latNanos);
        return r;
    }

    // --------------------------------------------------------------------------------------------- measuring

    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime + stime (fields 14 and 15)
    }

    static long rssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    static boolean alive(long pid) {
        return Files.exists(Path.of("/proc/" + pid + "/stat"));
    }

    static long loaderCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Redis calls per command since startup (INFO commandstats), without INFO itself. */
    static Map<String, Long> commandStats(Resp r) throws IOException {
        String info = (String) r.call("INFO", "commandstats");
        Map<String, Long> m = new TreeMap<>();
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String name = line.substring(8, line.indexOf(':'));
                if (name.equals("info")) {
                    continue;
                }
                int c = line.indexOf("calls=");
                int e = line.indexOf(',', c);
                m.put(name, Long.parseLong(line.substring(c + 6, e)));
            }
        }
        return m;
    }

    /**
     * Redis commands the brokers sent (their client's {@code redis_commands_duration_seconds_count}): round trips,
     * unlike {@link #commandStats}, which also counts the commands a script runs inside Redis.
     */
    static long brokerRedisRoundTrips() throws IOException {
        long sum = 0;
        for (String b : new String[] {cfg.managementA, cfg.managementB, cfg.managementC, cfg.managementD}) {
            if (b == null) {
                continue;
            }
            try (Http.Client c = Http.Client.of(b)) {
                if (c.send("GET", "/q/metrics", null, null, null) != 200) {
                    continue;
                }
                for (String line : c.body().split("\n")) {
                    if (line.startsWith("redis_commands_duration_seconds_count")) {
                        sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    }
                }
            }
        }
        return sum;
    }

    static Map<String, Long> upstreamStats() throws IOException {
        try (Http.Client c = Http.Client.of(cfg.upstream)) {
            if (c.send("GET", "/stats", null, null, null) != 200) {
                throw new IOException("upstream /stats failed");
            }
            Map<String, Long> m = new LinkedHashMap<>();
            for (String line : c.body().split("\n")) {
                String[] kv = line.split("=");
                if (kv.length == 2) {
                    m.put(kv[0], Long.parseLong(kv[1].trim()));
                }
            }
            return m;
        }
    }

    static long upstreamCalls(Map<String, Long> s) {
        return s.getOrDefault("code", 0L)
                + s.getOrDefault("refresh", 0L)
                + s.getOrDefault("revocation", 0L)
                + s.getOrDefault("other", 0L);
    }

    /** Everything measured around one interval: broker CPU, Redis commands, upstream calls, loader CPU. */
    static final class Meter implements Probe {
        final long[] pids;
        final Resp redis;
        long[] cpu0, cpu1;
        Map<String, Long> redis0, redis1, up0, up1;
        long loader0, loader1;
        long rtt0, rtt1;
        long api0, api1; // the bench API's process CPU, ticks (0 without it)

        Meter(Resp redis, long... pids) {
            this.redis = redis;
            this.pids = pids;
        }

        @Override
        public void before() throws IOException {
            up0 = upstreamStats();
            rtt0 = brokerRedisRoundTrips();
            redis0 = commandStats(redis);
            cpu0 = ticks();
            api0 = cfg.apiPid > 0 ? cpuTicks(cfg.apiPid) : 0;
            loader0 = loaderCpuNanos();
        }

        @Override
        public void after() throws IOException {
            loader1 = loaderCpuNanos();
            api1 = cfg.apiPid > 0 ? cpuTicks(cfg.apiPid) : 0;
            cpu1 = ticks();
            redis1 = commandStats(redis);
            rtt1 = brokerRedisRoundTrips();
            up1 = upstreamStats();
        }

        long[] ticks() throws IOException {
            long[] t = new long[pids.length];
            for (int i = 0; i < pids.length; i++) {
                t[i] = cpuTicks(pids[i]);
            }
            return t;
        }

        long brokerCpuMicros() {
            long sum = 0;
            for (int i = 0; i < pids.length; i++) {
                sum += cpu1[i] - cpu0[i];
            }
            return sum * 1_000_000L / cfg.clkTck;
        }

        Map<String, Long> redisDelta() {
            Map<String, Long> d = new TreeMap<>();
            redis1.forEach((k, v) -> {
                long delta = v - redis0.getOrDefault(k, 0L);
                if (delta != 0) {
                    d.put(k, delta);
                }
            });
            return d;
        }

        long upstreamDelta(String key) {
            return up1.getOrDefault(key, 0L) - up0.getOrDefault(key, 0L);
        }
    }

    // ------------------------------------------------------------------------------------------------- rows

    static final class Row {
        String op;
        int conns;
        PhaseResult r;
        Meter m;
        String rss = "-";
        double floorRps = Double.NaN;
        String note = "";
        boolean brokerRow = true;
        boolean upstreamBoundRefresh;
        Row open; // the same row in the open model (BENCH_OPEN_MODEL), or null

        double rps() {
            return r.requests / r.seconds;
        }

        boolean floorRow() {
            return op.equals("floor");
        }

        double pct(double p) {
            if (r.latNanos.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.ceil(p * r.latNanos.length) - 1;
            return r.latNanos[Math.max(0, Math.min(i, r.latNanos.length - 1))] / 1e6;
        }

        long redisTotal() {
            return m.redisDelta().values().stream().mapToLong(Long::longValue).sum();
        }

        long upstreamTotal() {
            return upstreamCalls(m.up1) - upstreamCalls(m.up0);
        }
    }

    static final List<Row> rows = new ArrayList<>();
    static final StringBuilder details = new StringBuilder();

    static void log(String s) {
        System.err.println("[bench] " + s);
        System.err.flush();
    }

    static int run(String[] args) throws Exception {
        cfg = parse(args);
        Files.createDirectories(cfg.out);
        long started = System.nanoTime();
        try (Resp redis = new Resp(cfg.redisPort)) {
            redis.call("PING");
            // Global warm-up: JIT of every broker on the paths measured below (not measured).
            for (String b : new String[] {cfg.brokerA, cfg.brokerB, cfg.brokerC}) {
                if (b == null || cfg.initialWarmup <= 0) {
                    continue;
                }
                log("initial warm-up of " + b + " (" + cfg.initialWarmup + " s)");
                List<String> hs = createSessions(b, 10 * Math.max(1, cfg.sessionsPerVu / 2));
                List<Vu> vus = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    vus.add(
                            i % 2 == 0
                                    ? new ExchangeVu(b, null, 0)
                                    : new RefreshVu(
                                            new String[] {b},
                                            hs.subList(i * hs.size() / 10, (i + 1) * hs.size() / 10)));
                }
                PhaseResult w = phase(vus, cfg.initialWarmup, MAX_REQUESTS_PER_VU_PHASE, null);
                closeAll(vus);
                log("  " + w.requests + " requests, statuses " + w.statuses);
            }
            // Broker d serves only the API proxy: its warm-up is proxied calls of both sizes.
            if (cfg.initialWarmup > 0 && cfg.ops.stream().anyMatch(o -> o.startsWith("api-proxy"))) {
                log("initial warm-up of " + cfg.brokerD + " (API proxy, " + cfg.initialWarmup + " s)");
                List<String> sessions = webLogins(10);
                List<Vu> vus = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    vus.add(ApiVu.proxied(i % 2 == 0 ? "api-proxy-1k" : "api-proxy-100k", sessions.get(i)));
                }
                PhaseResult w = phase(vus, cfg.initialWarmup, MAX_REQUESTS_PER_VU_PHASE, null);
                closeAll(vus);
                log("  " + w.requests + " requests, statuses " + w.statuses);
            }
            for (int conns : cfg.conns) {
                double floorRps = Double.NaN;
                for (String op : cfg.ops) {
                    checkAlive();
                    Row row = runRow(op, conns, redis);
                    if (op.equals("floor")) {
                        floorRps = row.rps();
                    }
                    row.floorRps = floorRps;
                    rows.add(row);
                    if (row.open != null) {
                        row.open.floorRps = floorRps;
                        rows.add(row.open);
                        log(String.format(
                                Locale.ROOT,
                                "%-18s c=%-3d %8.0f req/s  p50 %.2f ms  p99 %.2f ms  %s",
                                row.open.op,
                                conns,
                                row.open.rps(),
                                row.open.pct(0.5),
                                row.open.pct(0.99),
                                row.open.note));
                    }
                    log(String.format(
                            Locale.ROOT,
                            "%-18s c=%-3d %8.0f req/s  p50 %.2f ms  p99 %.2f ms  non-2xx %d  %s",
                            op,
                            conns,
                            row.rps(),
                            row.pct(0.5),
                            row.pct(0.99),
                            row.r.non2xx,
                            row.note));
                }
            }
        }
        // ----- output
        String table = table();
        List<String> failures = checks();
        StringBuilder out = new StringBuilder();
        out.append(header()).append(table).append(apiRatios());
        if (failures.isEmpty()) {
            out.append("\nCHECKS PASSED: every row all-2xx; upstream calls per upstream-bound refresh = 1 (±1%); "
                    + "the upstream saw no refresh token presented twice.\n");
        } else {
            out.append("\nCHECKS FAILED:\n");
            for (String f : failures) {
                out.append("  - ").append(f).append('\n');
            }
        }
        out.append(String.format(
                Locale.ROOT,
                "(benchmark phase took %.0f s; details: %s)%n",
                (System.nanoTime() - started) / 1e9,
                cfg.out.resolve("details.txt")));
        System.out.print(out);
        Files.writeString(cfg.out.resolve("results.txt"), out.toString());
        Files.writeString(cfg.out.resolve("results.csv"), csv());
        Files.writeString(cfg.out.resolve("details.txt"), details.toString());
        return failures.isEmpty() ? 0 : 1;
    }

    static void checkAlive() {
        for (long pid : new long[] {cfg.pidA, cfg.pidB, cfg.pidC, cfg.pidD, cfg.apiPid}) {
            if (pid > 0 && !alive(pid)) {
                throw new IllegalStateException("process " + pid + " has exited: see its log in " + cfg.out);
            }
        }
    }

    static void closeAll(List<? extends Vu> vus) {
        for (Vu v : vus) {
            v.close();
        }
    }

    /** Pre-creates sessions by code exchanges (not measured); bounded in count and time. */
    static List<String> createSessions(String broker, int count) throws Exception {
        List<String> handles = Collections.synchronizedList(new ArrayList<>(count));
        int par = Math.max(1, Math.min(16, count));
        AtomicInteger claimed = new AtomicInteger();
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < par; i++) {
            vus.add(new ExchangeVu(broker, handles, count) {
                @Override
                public boolean exhausted() {
                    return claimed.get() >= count;
                }

                @Override
                public int step() throws IOException {
                    claimed.incrementAndGet();
                    return super.step();
                }
            });
        }
        PhaseResult r = phase(vus, 600, count, null);
        closeAll(vus);
        if (r.non2xx + r.ioErrors + r.protocolErrors > 0 || handles.size() < count) {
            throw new IllegalStateException(
                    "pre-creating " + count + " sessions at " + broker + " failed: " + r.statuses + " " + r.samples);
        }
        List<String> out = new ArrayList<>(handles.subList(0, count));
        Collections.shuffle(out);
        return out;
    }

    static Row runRow(String op, int conns, Resp redis) throws Exception {
        Row row = new Row();
        row.op = op;
        row.conns = conns;
        List<Vu> vus = new ArrayList<>();
        long[] pids;
        double warmup = cfg.warmup;
        long warmupCap = MAX_REQUESTS_PER_VU_PHASE;
        switch (op) {
            case "floor" -> {
                row.brokerRow = false;
                row.upstreamBoundRefresh = true;
                pids = new long[0];
                List<String> keys = createFloorSessions(redis, conns * cfg.sessionsPerVu);
                for (int i = 0; i < conns; i++) {
                    vus.add(new FloorVu(keys.subList(i * cfg.sessionsPerVu, (i + 1) * cfg.sessionsPerVu)));
                }
            }
            case "refresh-upstream", "refresh-2-replicas" -> {
                boolean two = op.equals("refresh-2-replicas");
                row.upstreamBoundRefresh = true;
                pids = two ? new long[] {cfg.pidA, cfg.pidC} : new long[] {cfg.pidA};
                String[] brokers = two ? new String[] {cfg.brokerA, cfg.brokerC} : new String[] {cfg.brokerA};
                List<String> hs = createSessions(cfg.brokerA, conns * cfg.sessionsPerVu);
                for (int i = 0; i < conns; i++) {
                    vus.add(new RefreshVu(brokers, hs.subList(i * cfg.sessionsPerVu, (i + 1) * cfg.sessionsPerVu)));
                }
                row.note = two ? "requests alternate A,C" : "";
            }
            case "refresh-reuse" -> {
                pids = new long[] {cfg.pidB};
                List<String> hs = createSessions(cfg.brokerB, conns);
                for (int i = 0; i < conns; i++) {
                    vus.add(new RefreshVu(new String[] {cfg.brokerB}, hs.subList(i, i + 1)));
                }
                row.note = "1 session per VU, window 1h";
            }
            case "exchange" -> {
                pids = new long[] {cfg.pidA};
                for (int i = 0; i < conns; i++) {
                    vus.add(new ExchangeVu(cfg.brokerA, null, 0));
                }
            }
            case "revoke-known" -> {
                pids = new long[] {cfg.pidA};
                double exRps = rows.stream()
                        .filter(x -> x.op.equals("exchange") && x.conns == conns)
                        .mapToDouble(Row::rps)
                        .findFirst()
                        .orElse(500);
                warmup = Math.min(cfg.warmup, 2);
                int total = (int) Math.min(200_000, Math.max(conns * 20L, (long)
                        Math.ceil(exRps * cfg.revokePoolFactor * (warmup + cfg.measure))));
                int per = Math.max(1, total / conns);
                log("revoke-known c=" + conns + ": pre-creating " + (per * conns) + " sessions");
                List<String> hs = createSessions(cfg.brokerA, per * conns);
                warmupCap = Math.max(1, per / 5); // warm-up uses at most a fifth of each VU's sessions
                for (int i = 0; i < conns; i++) {
                    vus.add(new RevokeVu(cfg.brokerA, hs.subList(i * per, (i + 1) * per), null, warmupCap));
                }
            }
            case "revoke-unknown" -> {
                pids = new long[] {cfg.pidA};
                String shape = createSessions(cfg.brokerA, 1).get(0);
                for (int i = 0; i < conns; i++) {
                    vus.add(new RevokeVu(cfg.brokerA, null, shape, 0));
                }
                row.note = "random handles shaped like a real one";
            }
            case "api-direct-1k", "api-direct-100k" -> {
                row.brokerRow = false;
                pids = new long[0];
                for (int i = 0; i < conns; i++) {
                    vus.add(ApiVu.direct(op, upstreamAccessToken()));
                }
                row.note = "no broker: bearer token straight to the API";
            }
            case "api-proxy-1k", "api-proxy-100k" -> {
                pids = new long[] {cfg.pidD};
                List<String> sessions = webLogins(conns);
                for (int i = 0; i < conns; i++) {
                    vus.add(ApiVu.proxied(op, sessions.get(i)));
                }
                row.note = "1 web session per VU";
            }
            default -> throw new IllegalArgumentException(op);
        }
        PhaseResult w = phase(vus, warmup, warmupCap, null);
        if (w.non2xx + w.ioErrors + w.protocolErrors > 0) {
            details.append(
                    String.format("warm-up of %s c=%d: statuses %s samples %s%n", op, conns, w.statuses, w.samples));
        }
        Meter m = new Meter(redis, pids);
        row.r = phase(vus, cfg.measure, MAX_REQUESTS_PER_VU_PHASE, m);
        row.m = m;
        // Not revoke-known: its sessions are used up.
        if ((cfg.openFraction > 0 || cfg.openRate > 0) && !op.equals("revoke-known")) {
            row.open = openModel(row, vus, redis, pids);
        }
        closeAll(vus);
        if (pids.length > 0) {
            StringBuilder rss = new StringBuilder();
            for (long pid : pids) {
                if (rss.length() > 0) {
                    rss.append('+');
                }
                rss.append(rssKb(pid) / 1024);
            }
            row.rss = rss.toString();
        }
        if (row.r.exhaustedEarly) {
            row.note = (row.note.isEmpty() ? "" : row.note + "; ")
                    + String.format(Locale.ROOT, "pool used up after %.1f s", row.r.seconds);
        }
        rowDetails(row);
        return row;
    }

    /**
     * The row again at a constant arrival rate ({@code open-rate} req/s, or {@code open-model} times the req/s it just
     * reached), on the same VUs (so at most {@code conns} requests in flight): latency from each request's intended
     * send time.
     */
    static Row openModel(Row closed, List<Vu> vus, Resp redis, long[] pids) throws Exception {
        Row open = new Row();
        open.op = closed.op + "@open";
        open.conns = closed.conns;
        open.brokerRow = closed.brokerRow;
        open.upstreamBoundRefresh = closed.upstreamBoundRefresh;
        double rate = cfg.openRate > 0 ? cfg.openRate : closed.rps() * cfg.openFraction;
        Meter m = new Meter(redis, pids);
        open.r = phase(vus, cfg.measure, MAX_REQUESTS_PER_VU_PHASE, m, rate);
        open.m = m;
        open.rss = closed.rss;
        open.note = String.format(
                Locale.ROOT,
                "open model at %.0f req/s (%.0f %% of the closed loop's); latency from the intended send%s",
                rate,
                100 * rate / closed.rps(),
                open.r.behind > 0 ? "; " + open.r.behind + " sends still due at the end" : "");
        rowDetails(open);
        return open;
    }

    /** Floor sessions: a hash per session holding an upstream refresh token from a code grant. */
    static List<String> createFloorSessions(Resp redis, int count) throws IOException {
        List<String> keys = new ArrayList<>(count);
        String run = randomAlnum(6);
        try (Http.Client up = Http.Client.of(cfg.upstream)) {
            for (int i = 0; i < count; i++) {
                int s = up.send(
                        "POST",
                        "/connect/token",
                        FORM,
                        form(
                                "grant_type",
                                "authorization_code",
                                "code",
                                "floor-" + i,
                                "redirect_uri",
                                cfg.redirectUri,
                                "code_verifier",
                                randomAlnum(64)),
                        null);
                String rt = Http.jsonString(up.body(), "refresh_token");
                if (s != 200 || rt == null) {
                    throw new IOException("floor session setup: upstream answered " + s);
                }
                String key = "bench:floor:" + run + ":" + i;
                redis.call(
                        "HSET",
                        key,
                        "rt",
                        rt,
                        "client",
                        cfg.clientId,
                        "created",
                        Long.toString(System.currentTimeMillis()));
                keys.add(key);
            }
        }
        return keys;
    }

    // ------------------------------------------------------------------------------------------------ output

    static String header() {
        StringBuilder sb = new StringBuilder();
        sb.append("token-broker benchmark  ")
                .append(java.time.OffsetDateTime.now().withNano(0))
                .append('\n');
        sb.append(String.format(
                Locale.ROOT,
                "cores %d; warm-up %.0f s, measured %.0f s per row; %d sessions per VU "
                        + "for refresh rows; closed loop, one keep-alive connection per VU%n",
                Runtime.getRuntime().availableProcessors(),
                cfg.warmup,
                cfg.measure,
                cfg.sessionsPerVu));
        if (!cfg.jvmOpts.isEmpty()) {
            sb.append("broker JVM options: ").append(cfg.jvmOpts).append('\n');
        }
        if (!cfg.notes.isEmpty()) {
            sb.append(cfg.notes).append('\n');
        }
        return sb.toString();
    }

    static String fmt(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String table() {
        String h = String.format(
                "%-24s %5s %9s %7s %8s %8s %9s %9s %8s %8s %8s %7s %9s  %s%n",
                "operation",
                "conns",
                "req/s",
                "%floor",
                "p50 ms",
                "p99 ms",
                "brkCPUus",
                "ldrCPUus",
                "rtt/rq",
                "redis/rq",
                "upstr/rq",
                "non2xx",
                "RSS MB",
                "note");
        StringBuilder sb = new StringBuilder(h);
        sb.append("-".repeat(h.length() + 10)).append('\n');
        for (Row r : rows) {
            double n = r.r.requests;
            sb.append(String.format(
                    "%-24s %5d %9s %7s %8s %8s %9s %9s %8s %8s %8s %7d %9s  %s%n",
                    r.op,
                    r.conns,
                    fmt(r.rps(), 0),
                    r.floorRow() ? "100%" : apiRow(r.op) ? "-" : fmt(100 * r.rps() / r.floorRps, 0) + "%",
                    fmt(r.pct(0.5), 2),
                    fmt(r.pct(0.99), 2),
                    r.brokerRow ? fmt(r.m.brokerCpuMicros() / n, 0) : "-",
                    fmt((r.m.loader1 - r.m.loader0) / 1000.0 / n, 0),
                    r.brokerRow ? fmt((r.m.rtt1 - r.m.rtt0) / n, 2) : r.floorRow() ? "2.00" : "-",
                    fmt(r.redisTotal() / n, 2),
                    fmt(r.upstreamTotal() / n, 3),
                    r.r.non2xx + r.r.ioErrors + r.r.protocolErrors,
                    r.rss,
                    noteWithRatio(r)));
        }
        return sb.toString();
    }

    /** The direct row of the same size and connection count as this proxy row, or null. */
    static Row directOf(Row proxy) {
        if (!proxy.op.startsWith("api-proxy") || proxy.op.endsWith("@open")) {
            return null;
        }
        String direct = proxy.op.replace("api-proxy", "api-direct");
        return rows.stream()
                .filter(x -> x.op.equals(direct) && x.conns == proxy.conns)
                .findFirst()
                .orElse(null);
    }

    static String noteWithRatio(Row r) {
        Row direct = directOf(r);
        if (direct == null) {
            return r.note;
        }
        return r.note + "; " + fmt(100 * r.rps() / direct.rps(), 0) + "% of " + direct.op + " req/s";
    }

    /** Proxy ÷ direct throughput per size and connection count (the API proxy's target: ≥ 50 % at 50). */
    static String apiRatios() {
        StringBuilder sb = new StringBuilder();
        for (Row r : rows) {
            Row direct = directOf(r);
            if (direct != null) {
                sb.append(String.format(
                        Locale.ROOT,
                        "  %-16s %3d connections: %6.0f / %6.0f req/s = %3.0f %%; broker CPU %s us per proxied call%n",
                        apiName(r.op),
                        r.conns,
                        r.rps(),
                        direct.rps(),
                        100 * r.rps() / direct.rps(),
                        fmt(r.m.brokerCpuMicros() / (double) r.r.requests, 0)));
            }
        }
        return sb.length() == 0
                ? ""
                : "\nAPI proxy / direct throughput (same run, same connections; target >= 50 % at 50):\n" + sb;
    }

    static String csv() {
        StringBuilder sb = new StringBuilder("operation,conns,requests,seconds,rps,pct_floor,p50_ms,p99_ms,"
                + "broker_cpu_us_per_req,loader_cpu_us_per_req,redis_cmds_per_req,upstream_calls_per_req,non2xx,"
                + "io_errors,protocol_errors,rss_mb\n");
        for (Row r : rows) {
            double n = r.r.requests;
            sb.append(String.join(
                            ",",
                            r.op,
                            Integer.toString(r.conns),
                            Long.toString(r.r.requests),
                            fmt(r.r.seconds, 3),
                            fmt(r.rps(), 1),
                            r.floorRow() ? "100" : apiRow(r.op) ? "" : fmt(100 * r.rps() / r.floorRps, 1),
                            fmt(r.pct(0.5), 3),
                            fmt(r.pct(0.99), 3),
                            r.brokerRow ? fmt(r.m.brokerCpuMicros() / n, 1) : "",
                            fmt((r.m.loader1 - r.m.loader0) / 1000.0 / n, 1),
                            fmt(r.redisTotal() / n, 3),
                            fmt(r.upstreamTotal() / n, 4),
                            Long.toString(r.r.non2xx),
                            Long.toString(r.r.ioErrors),
                            Long.toString(r.r.protocolErrors),
                            r.rss.replace('+', ' ')))
                    .append('\n');
        }
        return sb.toString();
    }

    static void rowDetails(Row row) {
        double n = Math.max(1, row.r.requests);
        details.append(String.format(
                Locale.ROOT,
                "== %s, %d connections: %d requests in %.2f s; statuses %s%n",
                row.op,
                row.conns,
                row.r.requests,
                row.r.seconds,
                row.r.statuses));
        details.append(String.format(
                Locale.ROOT,
                "   latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f%n",
                row.pct(0.5),
                row.pct(0.9),
                row.pct(0.99),
                row.pct(0.999),
                row.pct(1.0)));
        details.append("   Redis commands per request:");
        row.m.redisDelta().forEach((k, v) -> details.append(String.format(Locale.ROOT, " %s=%.3f", k, v / n)));
        details.append('\n');
        details.append(String.format(
                Locale.ROOT,
                "   upstream per request: code=%.3f refresh=%.3f revocation=%.3f other=%.3f; rejected (token reuse) %d%n",
                row.m.upstreamDelta("code") / n,
                row.m.upstreamDelta("refresh") / n,
                row.m.upstreamDelta("revocation") / n,
                row.m.upstreamDelta("other") / n,
                row.m.upstreamDelta("rejected")));
        if (apiRow(row.op) && cfg.apiPid > 0) {
            details.append(String.format(
                    Locale.ROOT,
                    "   API server CPU per request: %.0f us%n",
                    (row.m.api1 - row.m.api0) * 1e6 / cfg.clkTck / n));
        }
        for (String s : row.r.samples) {
            details.append("   sample: ").append(s).append('\n');
        }
    }

    static List<String> checks() {
        List<String> f = new ArrayList<>();
        for (Row r : rows) {
            String id = r.op + " c=" + r.conns;
            if (r.r.requests == 0) {
                f.add(id + ": no request completed");
                continue;
            }
            long bad = r.r.non2xx + r.r.ioErrors + r.r.protocolErrors;
            if (bad > 0) {
                f.add(id + ": " + bad + " of " + r.r.requests + " requests failed (statuses " + r.r.statuses
                        + "); e.g. " + r.r.samples);
            }
            if (r.upstreamBoundRefresh) {
                double per = (double) r.upstreamTotal() / r.r.requests;
                if (per < 0.99 || per > 1.01) {
                    f.add(String.format(
                            Locale.ROOT, "%s: %.4f upstream calls per refresh, expected 1 (±1%%)", id, per));
                }
            }
            long rejected = r.m.upstreamDelta("rejected");
            if (rejected > 0) {
                f.add(id + ": the upstream rejected " + rejected
                        + " refresh tokens it did not issue or had rotated away (a token presented twice)");
            }
        }
        return f;
    }
}
