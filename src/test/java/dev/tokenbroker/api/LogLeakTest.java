package dev.tokenbroker.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.http.Fault;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Seeds known secrets, runs every flow including failures with the broker, REST client, Vert.x and Redis
 * client logging at DEBUG into {@code target/broker-test.log}, and scans that file for any of them.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class LogLeakTest {

    static final String CODE = "CODE-leakcheck-8d2f4b6a";
    static final String SECRET = "s:e+c%r et \u00e9";

    @Test
    void noTokenCodeVerifierHandleOrSecretReachesTheLog() throws Exception {
        DuendeStubs upstream = DuendeStubs.reset();
        List<String> handles = new ArrayList<>();

        upstream.upstreamIssuesTokens();
        upstream.upstreamAcceptsRevocation();
        handles.add(Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200).extract().path("refresh_token"));
        handles.add(Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200).extract().path("refresh_token"));
        upstream.upstreamRotatesRefreshToken(0);
        Broker.refresh(Broker.MOBILE, handles.get(0)).statusCode(200);
        Broker.refresh(Broker.WEB, handles.get(0)).statusCode(400);
        Broker.revoke(Broker.MOBILE, handles.get(0)).statusCode(200);
        Broker.refresh(Broker.MOBILE, handles.get(0)).statusCode(400);

        upstream = DuendeStubs.reset();
        upstream.upstreamRevocationFails();
        upstream.upstreamRejectsGrant();
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER).statusCode(400);
        Broker.refresh(Broker.MOBILE, handles.get(1)).statusCode(400);
        upstream.upstreamRejectsClientCredentials(400);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER).statusCode(502);
        upstream.upstreamFaults(Fault.CONNECTION_RESET_BY_PEER);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER).statusCode(502);
        upstream.upstreamFails(200, "application/json", "{\"access_token\":\"" + DuendeStubs.ACCESS_TOKEN);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER).statusCode(502);
        upstream.upstreamAnswersAfter(3_000);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER).statusCode(504);
        Broker.exchange(Broker.MOBILE, CODE, "clover://evil", Broker.VERIFIER).statusCode(400);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER + "!").statusCode(400);

        Path log = Path.of("target", "broker-test.log");
        assertTrue(Files.exists(log), "the test profile logs to " + log);
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(text.contains("Rejected request"), "the scan reads the broker's log");

        List<String> secrets = new ArrayList<>(List.of(CODE, Broker.VERIFIER, SECRET, "s%3Ae%2Bc%25r",
                DuendeStubs.ACCESS_TOKEN, DuendeStubs.REFRESHED_ACCESS_TOKEN, DuendeStubs.REFRESH_TOKEN,
                DuendeStubs.ROTATED_REFRESH_TOKEN, "web-secret-4711"));
        secrets.addAll(handles);
        for (String secret : secrets) {
            assertFalse(text.contains(secret), "the log contains a seeded secret: " + secret.substring(0, 4) + "…");
        }
        // The Basic credentials as sent.
        assertFalse(text.contains("Basic "), "an Authorization header reached the log");
    }
}
