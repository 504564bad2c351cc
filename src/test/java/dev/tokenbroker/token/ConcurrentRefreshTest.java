package dev.tokenbroker.token;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.ConcurrentCalls;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Within one broker: simultaneous refreshes of one session cost one upstream call and all get its result. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class ConcurrentRefreshTest {

    @TestHTTPResource("/")
    java.net.URL brokerUrl;

    @Test
    void fiftySimultaneousRefreshesOfOneSessionMakeOneUpstreamCall() throws Exception {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        String handle = Broker.exchange(Broker.MOBILE, "CODE-concurrent", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        // One-time refresh tokens, and slow enough that all fifty requests overlap the one upstream call.
        upstream.upstreamRotatesRefreshToken(500);

        List<ConcurrentCalls.Answer> answers = ConcurrentCalls.refreshAtOnce(
                50, List.of(brokerUrl.toString().replaceAll("/$", "")), Broker.MOBILE, handle);

        assertEquals(
                Set.of(200),
                answers.stream().map(ConcurrentCalls.Answer::status).collect(Collectors.toSet()),
                answers.toString());
        Set<String> accessTokens = answers.stream()
                .map(a -> io.restassured.path.json.JsonPath.from(a.body()).getString("access_token"))
                .collect(Collectors.toSet());
        assertEquals(Set.of(DuendeStubs.REFRESHED_ACCESS_TOKEN), accessTokens, "all callers get the one result");
        Set<String> handles = answers.stream()
                .map(a -> io.restassured.path.json.JsonPath.from(a.body()).getString("refresh_token"))
                .collect(Collectors.toSet());
        assertEquals(1, handles.size(), "all callers get the same new handle: " + handles);
        assertFalse(handles.contains(handle), "the handle rotated");
        assertEquals(1, upstream.refreshes().size(), "exactly one upstream refresh");
    }

    /**
     * Fifty sessions refreshed at once: each refresh takes several Redis round trips, so this needs a Redis pool
     * larger than Quarkus' default of 6 (with 24 waiters), which fails here with "max wait queue size" errors.
     * Prints latency figures; it asserts correctness only.
     */
    @Test
    void fiftySimultaneousRefreshesOfDifferentSessionsAllSucceed() throws Exception {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        // Every session holds the same stubbed upstream refresh token, so the upstream must not rotate here.
        upstream.upstreamRefreshesWithoutRotation(0);
        List<String> handles = new java.util.ArrayList<>();
        for (int i = 0; i < 50; i++) {
            handles.add(Broker.exchange(Broker.MOBILE, "CODE-many-" + i, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                    .statusCode(200)
                    .extract()
                    .path("refresh_token"));
        }
        String base = brokerUrl.toString().replaceAll("/$", "");
        long started = System.nanoTime();
        List<ConcurrentCalls.Answer> answers = ConcurrentCalls.refreshEachAtOnce(List.of(base), Broker.MOBILE, handles);
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

        assertEquals(
                Set.of(200),
                answers.stream().map(ConcurrentCalls.Answer::status).collect(Collectors.toSet()),
                answers.stream()
                        .filter(a -> a.status() != 200)
                        .findFirst()
                        .map(Object::toString)
                        .orElse(""));
        assertEquals(50, upstream.refreshes().size(), "different sessions are never coalesced");
        System.out.printf("[benchmark] 50 concurrent refreshes of 50 sessions: %d ms wall clock%n", elapsedMillis);
    }
}
