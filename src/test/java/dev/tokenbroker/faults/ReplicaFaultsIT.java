package dev.tokenbroker.faults;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.OneTimeRefreshUpstream;
import io.restassured.path.json.JsonPath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults across replicas: two packaged brokers share one Redis and an upstream with one-time refresh tokens that
 * keeps a ledger. A front end hangs up on one replica and retries on the other; a replica is killed while the
 * upstream works on its refresh.
 */
class ReplicaFaultsIT {

    private static RedisServer redis;
    private static OneTimeRefreshUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        upstream = new OneTimeRefreshUpstream();
    }

    @AfterAll
    static void stop() {
        upstream.close();
        redis.close();
    }

    @AfterEach
    void upstreamAsBefore() {
        upstream.delay(0);
        upstream.revocationEndsTheGrant(false);
    }

    private static Map<String, String> env() {
        Map<String, String> env =
                BrokerProcess.appEnv(redis.uri(), upstream.baseUrl() + "/token", upstream.baseUrl() + "/revocation");
        // Upstream calls end within 3 s; the refresh lock lives 15 s longer: 18 s.
        env.put("BROKER_UPSTREAM_CONNECT_TIMEOUT", "1s");
        env.put("BROKER_UPSTREAM_READ_TIMEOUT", "2s");
        return env;
    }

    @Test
    void aRetryOnAnotherReplicaGetsTheResultOfTheRefreshWhoseCallerHungUp() throws Exception {
        try (BrokerProcess a = BrokerProcess.launch(env());
                BrokerProcess b = BrokerProcess.launch(env())) {
            a.awaitReady();
            b.awaitReady();
            String handle = signIn(a);
            long before = upstream.refreshes();

            upstream.delay(1500);
            Clients.hangUpDuring(a.port(), Clients.form("/oauth2/token", Clients.refreshParams(handle)), 300);
            upstream.delay(0);
            // B finds A's lock, waits for A's commit, and answers from the session through the retired handle's grace.
            Answer retry = post(b, Clients.refreshParams(handle));

            assertEquals(200, retry.status(), retry.body());
            String next = JsonPath.from(retry.body()).getString("refresh_token");
            assertNotEquals(handle, next, "the retry gets the rotated handle the lost answer held");
            assertEquals(before + 1, upstream.refreshes(), "the retry on the other replica made no upstream call");
            assertEquals(200, post(a, Clients.refreshParams(next)).status(), "the session holds the rotated token");
            assertEquals(0, upstream.presentedTwice(), "no spent refresh token was presented again");
        }
    }

    /**
     * The killed replica took the lock and its request reached the upstream, which spent the session's refresh token
     * and issued a new one that nobody received. The other replica waits for the lock to expire, then ends the session
     * and revokes the token in doubt (at an upstream that ends the grant on revocation, as Keycloak does, that kills the
     * unreceived one too) rather than present it again.
     */
    @Test
    void aReplicaKilledMidRefreshLeavesTheTokenInDoubtAndTheOtherReplicaNeverPresentsItAgain() throws Exception {
        upstream.revocationEndsTheGrant(true);
        try (BrokerProcess a = BrokerProcess.launch(env());
                BrokerProcess b = BrokerProcess.launch(env())) {
            a.awaitReady();
            b.awaitReady();
            Set<String> liveBefore = upstream.live();
            String handle = signIn(a);
            long before = upstream.refreshes();

            upstream.delay(1500);
            // Its answer never comes: the replica is killed while the upstream works.
            var unused = CompletableFuture.runAsync(() -> post(a, Clients.refreshParams(handle)));
            Await.until(
                    "the refresh reached the upstream", Duration.ofSeconds(10), () -> upstream.refreshes() > before);
            a.kill();
            upstream.delay(0);
            Answer retry = post(b, Clients.refreshParams(handle));

            assertEquals(400, retry.status(), retry.body());
            assertEquals("invalid_grant", JsonPath.from(retry.body()).getString("error"));
            assertEquals(before + 1, upstream.refreshes(), "the token in doubt was never presented again");
            assertEquals(0, upstream.presentedTwice());
            Await.until("every refresh token of the session's grant is dead", Duration.ofSeconds(10), () -> {
                Set<String> alive = new HashSet<>(upstream.live());
                alive.removeAll(liveBefore);
                return alive.isEmpty();
            });
            assertTrue(
                    Pattern.compile(
                                    "(?m)^broker_sessions_ended_total\\{[^}]*reason=\"refresh_interrupted\"[^}]*} 1\\.0$")
                            .matcher(metrics(b))
                            .find(),
                    "the end is counted with its reason");
        }
    }

    private static String signIn(BrokerProcess broker) {
        Answer answer = post(broker, Clients.exchangeParams(UUID.randomUUID().toString()));
        assertEquals(200, answer.status(), answer.body());
        return JsonPath.from(answer.body()).getString("refresh_token");
    }

    private record Answer(int status, String body) {}

    private static Answer post(BrokerProcess broker, Map<String, String> fields) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(broker.baseUrl() + "/oauth2/token"))
                                    .timeout(Duration.ofSeconds(60))
                                    .header("Content-Type", "application/x-www-form-urlencoded")
                                    .POST(HttpRequest.BodyPublishers.ofString(Clients.formBody(fields)))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Answer(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, e.toString());
        }
    }

    private static String metrics(BrokerProcess broker) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(broker.managementUrl() + "/q/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
