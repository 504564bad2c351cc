package dev.tokenbroker.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.OneTimeRefreshUpstream;
import dev.tokenbroker.support.OneTimeUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static dev.tokenbroker.faults.Clients.exchangeParams;
import static dev.tokenbroker.faults.Clients.form;
import static dev.tokenbroker.faults.Clients.refreshParams;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model-based: random interleavings of what real front ends do (sign in; refresh; two refreshes of one handle at
 * once, with the same or two different scopes; hang up during a refresh and retry with the same handle; hang up during a code exchange or a revocation; lose
 * an exchange's answer and retry it; retry a refresh whose upstream spent the token and failed; ask for a narrower
 * scope; revoke; use a revoked handle), each answer checked against the model, and the invariant
 * ({@link Clients.Invariant}) checked after every step against the upstream's ledger. No step may raise a theft
 * alarm. {@code -Dmodel.steps=N} (default 400) runs more, {@code -Dmodel.seed=S} replays the printed seed's sequence
 * (the network's timing is not replayed).
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(OneTimeUpstreamResource.class)
class SessionModelTest {

    private enum Action {
        SIGN_IN,
        REFRESH,
        REFRESH_TWICE_AT_ONCE,
        TWO_SCOPES_AT_ONCE,
        HANG_UP_REFRESH_THEN_RETRY,
        HANG_UP_EXCHANGE,
        HANG_UP_REVOKE,
        LOSE_EXCHANGE_ANSWER_THEN_RETRY,
        UPSTREAM_FAILS_AFTER_SPENDING_THEN_RETRY,
        NARROWER_SCOPE,
        REVOKE,
        USE_REVOKED
    }

    /** The upstream answers this late during a hang-up step; the client hangs up long before. */
    private static final long UPSTREAM_MILLIS = 150;

    private static final long HANG_UP_AFTER_MILLIS = 40;
    private static final int MOST_APPS = 6;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    private final OneTimeRefreshUpstream upstream = OneTimeUpstreamResource.upstream();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();

    private Clients.Invariant invariant;

    @AfterEach
    void upstreamAnswersAtOnceAgain() {
        upstream.delay(0);
    }

    @Test
    void randomInterleavingsOfRealClientsKeepTheInvariantAndRaiseNoTheftAlarm() throws Exception {
        long seed = Long.getLong("model.seed", System.nanoTime());
        int steps = Integer.getInteger("model.steps", 400);
        System.out.println("SessionModelTest: seed " + seed + ", " + steps + " steps (-Dmodel.seed=" + seed
                + " replays the sequence)");
        Random random = new Random(seed);
        invariant = new Clients.Invariant(redis, keyRing, upstream);
        List<String> apps = new ArrayList<>();
        List<String> revoked = new ArrayList<>();
        Map<Action, Integer> counts = new HashMap<>();
        double reuseBefore = counter("broker_session_reuse_detected_total");

        for (int step = 0; step < steps; step++) {
            Action action = pick(random, apps, revoked);
            counts.merge(action, 1, Integer::sum);
            String where = "seed " + seed + ", step " + step + ", " + action;
            try {
                run(action, random, apps, revoked);
                invariant.check();
            } catch (AssertionError e) {
                throw new AssertionError(where + ": " + e.getMessage(), e);
            }
        }
        invariant.checkAll();
        assertEquals(reuseBefore, counter("broker_session_reuse_detected_total"), "no theft alarm");
        System.out.println("SessionModelTest: steps by action " + counts);
    }

    private static Action pick(Random random, List<String> apps, List<String> revoked) {
        if (apps.isEmpty()) {
            return random.nextInt(4) == 0 ? Action.HANG_UP_EXCHANGE : Action.SIGN_IN;
        }
        Action action = Action.values()[random.nextInt(Action.values().length)];
        if (action == Action.SIGN_IN && apps.size() >= MOST_APPS) {
            return Action.REVOKE;
        }
        return action == Action.USE_REVOKED && revoked.isEmpty() ? Action.REFRESH : action;
    }

    private void run(Action action, Random random, List<String> apps, List<String> revoked) throws Exception {
        int app = apps.isEmpty() ? -1 : random.nextInt(apps.size());
        switch (action) {
            case SIGN_IN ->
                apps.add(ok(post("/oauth2/token", exchangeParams(code())))
                        .get("refresh_token")
                        .asText());
            case REFRESH -> apps.set(app, refreshed(apps.get(app)));
            case REFRESH_TWICE_AT_ONCE -> {
                String handle = apps.get(app);
                CompletableFuture<String> other = CompletableFuture.supplyAsync(() -> refreshed(handle));
                String mine = refreshed(handle);
                assertEquals(mine, other.join(), "both callers get the same new handle");
                apps.set(app, mine);
            }
            case TWO_SCOPES_AT_ONCE -> {
                String handle = apps.get(app);
                CompletableFuture<JsonNode> narrower = CompletableFuture.supplyAsync(() -> narrower(handle));
                String whole = refreshed(handle);
                assertEquals("openid", narrower.join().get("scope").asText(), "never broader than asked");
                // Either answer may hold the handle the other retired: settle on the current one within the grace.
                apps.set(app, refreshed(whole));
            }
            case HANG_UP_REFRESH_THEN_RETRY -> {
                String handle = apps.get(app);
                hangUpWhileTheUpstreamWorks(form("/oauth2/token", refreshParams(handle)));
                // The lost answer's handle, or the same one when the reuse window answered both.
                apps.set(app, refreshed(handle));
            }
            case HANG_UP_EXCHANGE -> {
                int revocations = upstream.revoked().size();
                hangUpWhileTheUpstreamWorks(form("/oauth2/token", exchangeParams(code())));
                eventually(
                        "the abandoned session ended and its token was revoked",
                        () -> upstream.revoked().size() > revocations);
            }
            case HANG_UP_REVOKE -> {
                String handle = apps.remove(app);
                int revokedUpstream = upstream.revoked().size();
                hangUpWhileTheUpstreamWorks(
                        form("/oauth2/revoke", Map.of("client_id", Broker.MOBILE, "token", handle)));
                revoked.add(handle);
                eventually(
                        "the revocation finished without its caller",
                        () -> upstream.revoked().size() > revokedUpstream);
            }
            case LOSE_EXCHANGE_ANSWER_THEN_RETRY -> {
                String code = code();
                ok(post("/oauth2/token", exchangeParams(code)));
                int revocations = upstream.revoked().size();
                assertEquals(400, post("/oauth2/token", exchangeParams(code)).statusCode());
                eventually(
                        "the session the lost answer opened ended and its token was revoked",
                        () -> upstream.revoked().size() > revocations);
            }
            case UPSTREAM_FAILS_AFTER_SPENDING_THEN_RETRY -> {
                String handle = apps.remove(app);
                // A scope no other step asks for, so that no earlier result answers it from the reuse window.
                Map<String, String> params = new HashMap<>(refreshParams(handle));
                params.put("scope", "offline_access");
                upstream.failNextRefreshAfterSpending();
                HttpResponse<String> failed = post("/oauth2/token", params);
                assertEquals(502, failed.statusCode(), failed.body());
                // The token may be spent: the retry ends the session rather than present it again.
                HttpResponse<String> retry = post("/oauth2/token", params);
                assertEquals(400, retry.statusCode(), retry.body());
                revoked.add(handle);
            }
            case NARROWER_SCOPE -> {
                JsonNode answer = narrower(apps.get(app));
                assertEquals("openid", answer.get("scope").asText(), "never broader than asked");
                apps.set(app, answer.get("refresh_token").asText());
            }
            case REVOKE -> {
                String handle = apps.remove(app);
                assertEquals(
                        200,
                        post("/oauth2/revoke", Map.of("client_id", Broker.MOBILE, "token", handle))
                                .statusCode());
                revoked.add(handle);
            }
            case USE_REVOKED -> {
                HttpResponse<String> r =
                        post("/oauth2/token", refreshParams(revoked.get(random.nextInt(revoked.size()))));
                assertEquals(400, r.statusCode(), r.body());
                assertEquals(
                        "invalid_grant", json.readTree(r.body()).get("error").asText());
            }
        }
    }

    private void hangUpWhileTheUpstreamWorks(String request) throws Exception {
        upstream.delay(UPSTREAM_MILLIS);
        try {
            Clients.hangUpDuring(port, request, HANG_UP_AFTER_MILLIS);
        } finally {
            upstream.delay(0);
        }
    }

    /**
     * Work whose caller left ends within a few seconds: once it has {@code happened} (the upstream saw its end), the
     * invariant must hold.
     */
    private void eventually(String what, BooleanSupplier happened) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                assertTrue(happened.getAsBoolean(), "not yet");
                invariant.check();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("not within 10 s: " + what + ": " + e.getMessage(), e);
                }
                Thread.sleep(50);
            }
        }
    }

    private String refreshed(String handle) {
        try {
            return ok(post("/oauth2/token", refreshParams(handle)))
                    .get("refresh_token")
                    .asText();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode narrower(String handle) {
        Map<String, String> params = new HashMap<>(refreshParams(handle));
        params.put("scope", "openid");
        try {
            return ok(post("/oauth2/token", params));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode ok(HttpResponse<String> response) throws Exception {
        assertEquals(200, response.statusCode(), response.body());
        return json.readTree(response.body());
    }

    private HttpResponse<String> post(String path, Map<String, String> fields) throws Exception {
        String request = form(path, fields);
        String body = request.substring(request.indexOf("\r\n\r\n") + 4);
        return http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String code() {
        return UUID.randomUUID().toString();
    }

    private static double counter(String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(Management.metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
