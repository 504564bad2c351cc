package dev.tokenbroker.faults;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.OneTimeRefreshUpstream;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the fault tests do as a front end that hangs up, and the invariant they check against the upstream's ledger. */
final class Clients {

    private Clients() {}

    static Map<String, String> exchangeParams(String code) {
        return Map.of(
                "grant_type", "authorization_code",
                "client_id", Broker.MOBILE,
                "code", code,
                "redirect_uri", Broker.MOBILE_REDIRECT,
                "code_verifier", Broker.VERIFIER);
    }

    static Map<String, String> refreshParams(String handle) {
        return Map.of("grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle);
    }

    /** A whole HTTP/1.1 request with a form body. */
    static String form(String path, Map<String, String> fields) {
        String body = formBody(fields);
        return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static String formBody(Map<String, String> fields) {
        StringBuilder body = new StringBuilder();
        fields.forEach((name, value) -> body.append(body.isEmpty() ? "" : "&")
                .append(name)
                .append('=')
                .append(URLEncoder.encode(value, StandardCharsets.UTF_8)));
        return body.toString();
    }

    static Socket send(int port, String request) throws Exception {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return socket;
    }

    /** Sends the whole request, then closes the connection after {@code millis}, before any answer. */
    static void hangUpDuring(int port, String request, long millis) throws Exception {
        try (Socket socket = send(port, request)) {
            Thread.sleep(millis);
        }
    }

    /**
     * The invariant, against the upstream's ledger: each refresh token the upstream issued since the invariant was made
     * and still honours is held by exactly one session; no session holds one it no longer honours; nothing spent was
     * ever presented again. {@link #check} reads only the sessions created since (earlier test classes leave thousands
     * of sessions of other upstreams in the shared Redis); {@link #checkAll} reads every session.
     */
    static final class Invariant {
        private final RedisDataSource redis;
        private final KeyRing keyRing;
        private final OneTimeRefreshUpstream upstream;
        private final Set<String> keysBefore;
        private final Set<String> tokensBefore;

        Invariant(RedisDataSource redis, KeyRing keyRing, OneTimeRefreshUpstream upstream) {
            this.redis = redis;
            this.keyRing = keyRing;
            this.upstream = upstream;
            this.keysBefore = new HashSet<>(sessionKeys());
            this.tokensBefore = new HashSet<>(upstream.live());
            tokensBefore.addAll(upstream.dead());
        }

        /** Over the sessions created since; also: every token such a session holds is one the upstream honours. */
        void check() {
            Map<String, Integer> holders = holders(false);
            for (String held : holders.keySet()) {
                assertTrue(upstream.live().contains(held), "a new session holds a token the upstream honours");
            }
            assertOver(holders);
        }

        /** Over every session in Redis. */
        void checkAll() {
            assertOver(holders(true));
        }

        private void assertOver(Map<String, Integer> holders) {
            for (String live : upstream.live()) {
                if (!tokensBefore.contains(live)) {
                    assertEquals(
                            1, holders.getOrDefault(live, 0), "a live upstream refresh token has exactly one session");
                }
            }
            for (String dead : upstream.dead()) {
                assertEquals(0, holders.getOrDefault(dead, 0), "no session holds a spent or revoked refresh token");
            }
            assertEquals(0, upstream.presentedTwice(), "no spent refresh token was presented again");
        }

        /** The refresh tokens the sessions hold, with how many hold each. */
        private Map<String, Integer> holders(boolean all) {
            Map<String, Integer> holders = new HashMap<>();
            for (String key : sessionKeys()) {
                if (!all && keysBefore.contains(key)) {
                    continue;
                }
                String envelope = redis.hash(String.class).hget(key, "rt");
                String id = key.substring(key.indexOf('{') + 1, key.length() - 1);
                if (envelope != null) {
                    try {
                        holders.merge(keyRing.decrypt(envelope, "session:" + id + ":rt"), 1, Integer::sum);
                    } catch (IllegalStateException e) {
                        // Another test application's key: not a session of this upstream.
                    }
                }
            }
            return holders;
        }

        /** The pattern's braces are literal: it matches session records, not the commit markers beside them. */
        private List<String> sessionKeys() {
            return redis.key().keys(StoredSessions.KEYS.session("*"));
        }
    }
}
