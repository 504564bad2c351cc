package dev.tokenbroker.api;

import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import dev.tokenbroker.support.ApiStubResource;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.LogScan;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.OtlpReceiver;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebClientResource;
import dev.tokenbroker.support.WebLogin;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tracing on, exported over real OTLP ({@link OtlpReceiver} decodes the protobuf the broker sends): a caller's W3C
 * trace context carries through the broker to the upstream, the trace shows the upstream call and each Redis
 * operation by name, the request id is the trace id, and no exported span holds a token, code, handle or secret.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
@WithTestResource(ApiStubResource.class)
@WithTestResource(OtlpReceiver.class)
class TracingTest {

    private static final SecureRandom RANDOM = new SecureRandom();

    @Test
    void aRefreshIsOneTraceFromTheCallersTraceparentThroughRedisToTheUpstream() throws Exception {
        String handle = MockUpstreamResource.signIn(Broker.MOBILE, Broker.MOBILE_REDIRECT, "alice", Map.of());
        MockUpstreamResource.drainRecordedRequests();
        String traceId = randomHex(16);
        String callerSpanId = randomHex(8);

        String requestId = given().header("traceparent", "00-" + traceId + "-" + callerSpanId + "-01")
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .header("X-Request-Id");
        assertEquals(traceId, requestId, "the request id is the trace id");

        RecordedRequest atUpstream = MockUpstreamResource.poll(5_000);
        assertNotNull(atUpstream, "the upstream was called");
        assertTrue(atUpstream.getPath().endsWith("/token"), atUpstream.getPath());
        String propagated = atUpstream.getHeader("traceparent");
        assertNotNull(propagated, "the trace context reaches the upstream");
        assertTrue(propagated.startsWith("00-" + traceId + "-"), propagated);

        Span server = awaitSpan(traceId, s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER);
        assertEquals(callerSpanId, hex(server.getParentSpanId()), "the broker's span is the caller's span's child");
        assertEquals("/oauth2/token", OtlpReceiver.attribute(server, "url.path"));
        Span upstreamCall = awaitSpan(
                traceId,
                s -> s.getKind() == Span.SpanKind.SPAN_KIND_CLIENT
                        && String.valueOf(OtlpReceiver.attribute(s, "url.full")).endsWith("/connect/token"));
        assertEquals(
                hex(upstreamCall.getSpanId()),
                propagated.split("-")[2],
                "the upstream's parent is the client span of that call");
        assertDescendsFrom(server, upstreamCall, traceId);

        Span redisOperation = awaitSpan(traceId, s -> s.getName().startsWith("redis "));
        assertDescendsFrom(server, redisOperation, traceId);
        assertEquals("redis", OtlpReceiver.attribute(redisOperation, "db.system.name"));
        List<String> names = new ArrayList<>();
        spansOf(traceId).forEach(s -> names.add(s.getName()));
        assertTrue(
                names.containsAll(List.of("redis begin refresh", "redis commit refresh")),
                "Redis spans name the operation: " + names);
        assertTrue(
                OtlpReceiver.spans().stream()
                        .allMatch(s -> s.getName().startsWith("redis ")
                                || OtlpReceiver.attribute(s, "db.system.name") == null),
                "no span per Redis command, nor one-span traces of background loops");
    }

    @Test
    void noExportedSpanHoldsATokenCodeHandleOrSecret() throws Exception {
        List<String> secrets = new ArrayList<>();
        // Mobile: exchange, refresh, revoke, and a refresh refused after the revocation.
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        secrets.add(code);
        String handle = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        secrets.add(handle);
        String rotated =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("refresh_token");
        secrets.add(rotated);
        Broker.revoke(Broker.MOBILE, rotated).statusCode(200);
        Broker.refresh(Broker.MOBILE, rotated).statusCode(400);

        // Web: the callback whose query holds the code, then a call through the API proxy.
        WebLogin.Started started = WebLogin.start(WebClientResource.appOrigin() + "/");
        URI callback = WebLogin.authorize(started);
        secrets.add(WebLogin.query(callback, "code"));
        secrets.add(started.loginCookie());
        ExtractableResponse<Response> signedIn = WebLogin.callback(callback, started.loginCookie());
        assertEquals(302, signedIn.statusCode());
        String cookie = signedIn.cookie(WebLogin.SESSION_COOKIE);
        secrets.add(cookie);
        given().cookie(WebLogin.SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/api/orders/echo?status=open&page=2")
                .then()
                .statusCode(200);

        Span callbackSpan = awaitServerSpan("/bff/callback");
        Span proxied = awaitSpan(
                null,
                s -> s.getKind() == Span.SpanKind.SPAN_KIND_CLIENT
                        && String.valueOf(OtlpReceiver.attribute(s, "url.full")).contains("/v1/echo"));
        awaitServerSpan("/oauth2/revoke");

        String exported = OtlpReceiver.everything();
        assertTrue(exported.contains("redis commit refresh"), "the scan reads what was exported");
        LogScan.assertNoTokenMaterial("an exported span", exported, secrets);
        assertEquals("code&state", OtlpReceiver.attribute(callbackSpan, "url.query"), "names kept, values dropped");
        assertTrue(OtlpReceiver.attribute(proxied, "url.full").endsWith("/v1/echo?_&_"));
    }

    private static Span awaitServerSpan(String path) {
        return awaitSpan(
                null,
                s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER
                        && path.equals(OtlpReceiver.attribute(s, "url.path")));
    }

    /** The first span received of the trace (null: any) that matches, waiting for the exporter's next batch. */
    private static Span awaitSpan(String traceId, Predicate<Span> match) {
        List<Span> found = new ArrayList<>();
        Await.until("a matching span is exported", Duration.ofSeconds(10), () -> {
            Optional<Span> span = (traceId == null ? OtlpReceiver.spans() : spansOf(traceId))
                    .stream().filter(match).findFirst();
            span.ifPresent(found::add);
            return span.isPresent();
        });
        return found.get(0);
    }

    private static List<Span> spansOf(String traceId) {
        return OtlpReceiver.spans().stream()
                .filter(s -> hex(s.getTraceId()).equals(traceId))
                .toList();
    }

    private static void assertDescendsFrom(Span ancestor, Span span, String traceId) {
        List<Span> trace = spansOf(traceId);
        Span at = span;
        for (int depth = 0; depth < 20 && at != null; depth++) {
            if (at.getSpanId().equals(ancestor.getSpanId())) {
                return;
            }
            ByteString parent = at.getParentSpanId();
            at = trace.stream()
                    .filter(s -> s.getSpanId().equals(parent))
                    .findFirst()
                    .orElse(null);
        }
        assertFalse(true, span.getName() + " is not within " + ancestor.getName());
    }

    private static String randomHex(int bytes) {
        byte[] random = new byte[bytes];
        RANDOM.nextBytes(random);
        return HexFormat.of().formatHex(random);
    }

    private static String hex(ByteString bytes) {
        return HexFormat.of().formatHex(bytes.toByteArray());
    }
}
