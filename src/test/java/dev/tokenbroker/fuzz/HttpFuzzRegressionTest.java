package dev.tokenbroker.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every failure {@link HttpFuzzTest} found, with the exact bytes it sent (lightly shortened where the length did not
 * matter). Each case must get the stated status with the RFC 6749 JSON body, break no {@link Invariants invariant},
 * log no ERROR and cause no upstream call.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class HttpFuzzRegressionTest {

    private static final String TOKEN = "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    private static final String FORM = "Content-Type: application/x-www-form-urlencoded\r\n";
    private static final String VALID_EXCHANGE = "grant_type=authorization_code&client_id=clover&code=FZ-1&"
            + "redirect_uri=clover%3A%2F%2Fauth-callback&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    /** Was 500 and an ERROR: RESTEasy's form parser threw IllegalArgumentException from URLDecoder. */
    @Test
    void truncatedPercentEncodingInAFormIsAnInvalidRequest() throws Exception {
        answers(
                TOKEN + "Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: 264\r\n\r\n"
                        + "grant_type=authorization_code&client_id=clover&code=FZ-QWEQSX16REHFF.3F22AWIB0TVDNW0YDJA-"
                        + "&redirect_uri=clover%3A%2F%2Fauth-callback&code_verifier=N.7rew1K_LvusvMW%7EyomjNdCaXQ%7EZd"
                        + "l_olPyc7tQl2B3aYfYK2dIambA_iU76pZwcLvTRkZ5.uz1hd8cH0s2Gf7JDseKvlwhfNDguUg4hazUxddaX%",
                400,
                "invalid_request");
    }

    /** Was 500 and an ERROR, on the revocation endpoint too. */
    // Raw HTTP with its CRLF line ends written out: a text block would hide them.
    @SuppressWarnings("StringConcatToTextBlock")
    @Test
    void illegalHexDigitsInAPercentEncodingAreAnInvalidRequest() throws Exception {
        answers(
                "POST /oauth2/revoke HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        + "Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: 40\r\n\r\n"
                        + "client_id=clover%G1&token=abc.def.ghi-jk",
                400, "invalid_request");
        answers(TOKEN + FORM + "Content-Length: 30\r\n\r\ngrant_type=authorization_code%zz", 400, "invalid_request");
    }

    /** Was an upstream call: Jackson read the object and ignored what followed it. */
    @Test
    void jsonWithTrailingGarbageIsRefusedBeforeTheUpstream() throws Exception {
        String body =
                "{\"grant_type\":\"authorization_code\",\"client_id\":\"clover-web\",\"code\":\"FZ-7FKJ8U7PCUJZ6\","
                        + "\"redirect_uri\":\"https://app.example/callback\","
                        + "\"code_verifier\":\"kQUUKhwiQs5MYtJ70V0HYVc9cPc7ferY4LIFPUZG_p1pvaK-\"}garbage";
        answers(
                TOKEN + "Content-Type: application/json;charset=UTF-8\r\nContent-Length: " + body.length() + "\r\n\r\n"
                        + body,
                400,
                "invalid_request");
    }

    /** Was 500 and an ERROR: "Failed to parse media type". */
    @Test
    void aContentTypeThatIsNotAMediaTypeIsRefused() throws Exception {
        for (String type : List.of(";", "/", "x", "application/", "form", "applicationøx-www-form-urlencoded")) {
            answers(
                    TOKEN + "Content-Type: " + type + "\r\nContent-Length: " + VALID_EXCHANGE.length() + "\r\n\r\n"
                            + VALID_EXCHANGE,
                    415,
                    "invalid_request");
        }
    }

    /** Was 500 and an ERROR: UnsupportedEncodingException for the charset parameter. */
    @Test
    void aContentTypeWithAnUnknownCharsetIsRefused() throws Exception {
        answers(
                TOKEN + "Content-Type: application/x-www-form-urlencoded; charset=" + "x".repeat(500) + "\r\n"
                        + "Content-Length: " + VALID_EXCHANGE.length() + "\r\n\r\n" + VALID_EXCHANGE,
                415,
                "invalid_request");
    }

    /**
     * Security review: with an EBCDIC or UTF-16 charset the broker decoded a form that a proxy or WAF reading ASCII
     * sees as binary (a parser differential). Only ASCII-compatible charsets are read.
     */
    @Test
    void aContentTypeWithACharsetThatIsNotAsciiCompatibleIsRefused() throws Exception {
        for (String charset : new String[] {"IBM037", "utf-16", "UTF-32BE"}) {
            answers(
                    TOKEN + "Content-Type: application/x-www-form-urlencoded; charset=" + charset + "\r\n"
                            + "Content-Length: " + VALID_EXCHANGE.length() + "\r\n\r\n" + VALID_EXCHANGE,
                    415,
                    "invalid_request");
        }
    }

    /** Was an upstream call: a body without Content-Type was read as a form. */
    @Test
    void aPostWithoutContentTypeIsRefusedBeforeTheUpstream() throws Exception {
        String body = "grant_type=authorization_code&client_id=clover-web&code=FZ-1604-DE..AJMM5J3&redirect_uri=https"
                + "%3A%2F%2Fapp.example%2Fcallback&code_verifier=nNQrU3eQ2VsA8TP2SGrStdWL2L5lBbkPL.Wv8dfuLJ%7EuwOO4K"
                + "Ocse5JcEMoIMISKl3ONvcwjIIVevTI9BgOvOR";
        answers(TOKEN + "Content-Length: " + body.length() + "\r\n\r\n" + body, 415, "invalid_request");
    }

    /** Was Quarkus' error page naming io.vertx.core.VertxException (with its stack in test mode), and an ERROR. */
    @Test
    void aRequestWithoutAValidHostGetsTheOAuthErrorBody() throws Exception {
        String body = "client_id=clover-web&token=gNzlZirGfWBUkPo1nQ9STP.lPvHYEO3evg5_JdUpvMUr:WAIi-g9pNidiKFy2q4Est";
        answers(
                "POST /oauth2/revoke HTTP/1.1\r\nHost: loc|lhost\r\nConnection: close\r\n" + FORM + "Content-Length: "
                        + body.length() + "\r\n\r\n" + body,
                400,
                "invalid_request");
        answers("POST /oauth2/token HTTP/1.1\r\nConnection: close\r\n" + FORM + "Content-Length: 0\r\n\r\n", 400, null);
    }

    /** Was the metrics page: Vert.x normalised the path to /q/metrics, behind a proxy that routes only /oauth2. */
    @Test
    void dotSegmentsAndEncodedSeparatorsInThePathAreRefused() throws Exception {
        for (String path : List.of(
                "/oauth2/../q/metrics", "/oauth2/%2e%2e/q/health", "/oauth2/revoke%2f", "/oauth2/.%2E/q/metrics")) {
            answers(
                    "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + FORM
                            + "Content-Length: 0\r\n\r\n",
                    400,
                    "invalid_request");
        }
    }

    /** Was a bare 404 with an empty body (Vert.x' router, which no resource's mapper sees). */
    @Test
    void aRequestTargetWithoutLeadingSlashGetsTheOAuthErrorBody() throws Exception {
        answers(
                "POST -oauth2/token HTTP/1.1\r\nHost:localhost\r\nConnection: close\r\n" + FORM
                        + "Content-Length: 0\r\n\r\n",
                404,
                "invalid_request");
    }

    /**
     * Was 500 and an ERROR ("Request too large") on the logout endpoint, which reads on a worker thread, and an ERROR
     * ("Response has already been written") on the token endpoint.
     */
    @Test
    void aChunkedBodyOverTheLimitIsTooLargeWithoutAnError() throws Exception {
        for (String path : List.of("/oidc/backchannel-logout", "/oauth2/token")) {
            answers(
                    "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + FORM
                            + "Transfer-Encoding: chunked\r\n\r\n4e20\r\n" + "a".repeat(20_000) + "\r\n0\r\n\r\n",
                    413,
                    null);
        }
    }

    /**
     * Sends {@code request}, expects one answer with {@code status} and (unless null) that RFC 6749 error, every
     * invariant, no ERROR logged and no upstream call.
     */
    private void answers(String request, int status, String error) throws Exception {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        RawHttp.Exchange answer;
        List<String> errors;
        try (ErrorLog log = ErrorLog.install()) {
            answer = RawHttp.send(
                    port, request.getBytes(StandardCharsets.ISO_8859_1), 1, 0, RawHttp.ANSWER_TIMEOUT_MILLIS);
            errors = new ArrayList<>(log.records());
        }
        String what = Escape.text(request.getBytes(StandardCharsets.ISO_8859_1), 200) + " -> " + answer.responses();
        assertEquals(1, answer.responses().size(), what);
        RawHttp.Response response = answer.responses().get(0);
        assertEquals(status, response.status(), what);
        List<String> broken = new ArrayList<>();
        Invariants.checkResponse(response, false, broken);
        assertEquals(List.of(), broken, what);
        if (error != null) {
            assertEquals(
                    error,
                    new ObjectMapper().readTree(response.body()).path("error").asText(),
                    what);
        }
        assertEquals(List.of(), errors, "nothing logged at ERROR for " + what);
        assertTrue(upstream.tokenCalls().isEmpty(), "no upstream call for " + what);
    }
}
