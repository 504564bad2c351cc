package dev.tokenbroker.api;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.http.Fault;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.LogScan;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeds known secrets, runs every flow including failures with the broker, REST client, Vert.x, Redis client
 * and JWT logging at TRACE into {@code target/broker-test.log}, and scans that file for any of them.
 * {@code LogLeakIT} scans the same file again after every test class has run.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class LogLeakTest {

    static final String CODE = "CODE-leakcheck-8d2f4b6a";

    @Test
    void noTokenCodeVerifierHandleOrSecretReachesTheLog() throws Exception {
        DuendeStubs upstream = DuendeStubs.reset();
        List<String> handles = new ArrayList<>();

        upstream.upstreamIssuesTokens();
        upstream.upstreamAcceptsRevocation();
        handles.add(Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token"));
        handles.add(Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token"));
        upstream.upstreamRotatesRefreshToken(0);
        Broker.refresh(Broker.MOBILE, handles.get(0)).statusCode(200);
        Broker.refresh(Broker.WEB, handles.get(0)).statusCode(400);
        Broker.revoke(Broker.MOBILE, handles.get(0)).statusCode(200);
        Broker.refresh(Broker.MOBILE, handles.get(0)).statusCode(400);

        upstream = DuendeStubs.reset();
        upstream.upstreamRevocationFails();
        upstream.upstreamRejectsGrant();
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(400);
        Broker.refresh(Broker.MOBILE, handles.get(1)).statusCode(400);
        upstream.upstreamRejectsClientCredentials(400);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(502);
        upstream.upstreamFaults(Fault.CONNECTION_RESET_BY_PEER);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(502);
        upstream.upstreamFails(200, "application/json", "{\"access_token\":\"" + DuendeStubs.ACCESS_TOKEN);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(502);
        upstream.upstreamAnswersAfter(3_000);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(504);
        Broker.exchange(Broker.MOBILE, CODE, "clover://evil", Broker.VERIFIER).statusCode(400);
        Broker.exchange(Broker.MOBILE, CODE, Broker.MOBILE_REDIRECT, Broker.VERIFIER + "!")
                .statusCode(400);

        String log = LogScan.read();
        assertTrue(log.contains("TRACE"), "the scan covers every level");
        List<String> secrets = new ArrayList<>(handles);
        secrets.add(CODE);
        LogScan.assertClean(log, secrets);
    }
}
