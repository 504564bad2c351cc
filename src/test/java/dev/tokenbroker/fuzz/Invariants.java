package dev.tokenbroker.fuzz;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What must hold for every answer to every fuzzed request, with Redis and the upstream up.
 *
 * <ul>
 *   <li>No 5xx.
 *   <li>No stack trace or internal name ({@code dev.tokenbroker}, {@code java.}, {@code io.vertx}, {@code Exception})
 *       in any header or any body but a success's (whose random tokens can spell anything).
 *   <li>Every 4xx from the broker's code is the RFC 6749 §5.2 JSON body ({@code error} from the RFC's codes) with
 *       {@code Cache-Control: no-store}.
 *   <li>Decision: Vert.x' HTTP codec answers requests that are not HTTP/1.1 it can parse (a malformed request line or
 *       header, headers over 8 KiB, a request line over 4 KiB, broken chunked framing, a chunked body over the limit)
 *       before any route runs, so no code of ours can shape that answer. Accepted for those: 400, 413, 414 or 431 with
 *       an empty body. They are not OAuth endpoint answers (the request never became one), carry nothing internal,
 *       and standard OAuth clients never send such bytes.
 *   <li>No upstream call unless the request was a valid code exchange; when the generator cannot know (mutated
 *       bytes), what reached the upstream must itself pass every rule the broker checks.
 *   <li>A request whose framing is complete gets an answer.
 * </ul>
 */
final class Invariants {

    static final Set<String> RFC6749_ERRORS = Set.of(
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "invalid_dpop_proof");
    static final Set<Integer> CODEC_STATUSES = Set.of(400, 413, 414, 431);
    private static final List<String> INTERNAL = List.of("dev.tokenbroker", "java.", "io.vertx", "exception", "\tat ");
    private static final Pattern VSCHAR = Pattern.compile("[\\x20-\\x7E]{1,2048}");
    private static final Pattern VERIFIER = Pattern.compile("[A-Za-z0-9._~-]{43,128}");
    private static final Set<String> REDIRECTS =
            Set.of("clover://auth-callback", "https://app.example/callback", "http://localhost:3000/cb");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Invariants() {}

    /**
     * Every broken rule for one case's answers; empty when all hold. Upstream calls are checked separately
     * ({@link #checkUpstream}): cases run concurrently, and a call is matched to its case by the code it carries.
     */
    static List<String> check(FuzzCase c, RawHttp.Exchange exchange) {
        List<String> broken = new ArrayList<>();
        if (exchange.responses().isEmpty() && !c.mayStall()) {
            broken.add("no answer to a complete request (closed=" + exchange.closedByServer() + ")");
        }
        boolean head =
                new String(c.bytes(), 0, Math.min(5, c.bytes().length), StandardCharsets.ISO_8859_1).equals("HEAD ");
        for (RawHttp.Response r : exchange.responses()) {
            checkResponse(r, head, broken);
        }
        if (c.upstream() == FuzzCase.Upstream.EXPECTED
                && (exchange.responses().isEmpty()
                        || exchange.responses().get(0).status() != 200)) {
            broken.add("a valid exchange was not answered 200: " + exchange.responses());
        }
        return broken;
    }

    /** The upstream calls that carried one case's code, against what the generator knows of the case. */
    static List<String> checkUpstream(FuzzCase.Upstream expected, List<String> calls) {
        List<String> broken = new ArrayList<>();
        switch (expected) {
            case NEVER -> {
                if (!calls.isEmpty()) {
                    broken.add("an invalid request reached the upstream: " + calls);
                }
            }
            case EXPECTED -> {
                if (calls.size() != 1) {
                    broken.add("a valid exchange made " + calls.size() + " upstream calls");
                }
            }
            case IF_VALID ->
                calls.stream()
                        .filter(body -> !validExchangeUpstream(body))
                        .forEach(body -> broken.add("an invalid exchange reached the upstream: " + body));
        }
        return broken;
    }

    /** The {@code code} an upstream call carried, to match it to its case. */
    static String code(String upstreamForm) {
        for (String pair : upstreamForm.split("&")) {
            if (pair.startsWith("code=")) {
                return URLDecoder.decode(pair.substring(5), StandardCharsets.UTF_8);
            }
        }
        return "";
    }

    static void checkResponse(RawHttp.Response r, boolean head, List<String> broken) {
        if (r.status() >= 500) {
            broken.add("5xx: " + r);
        }
        // A 2xx body holds tokens and handles: random base64url, which spells anything sooner or later (the 1,000,000
        // case run met a handle with "UjaVA." in it). Headers and every other body are checked.
        String all =
                (r.headers() + " " + (r.status() / 100 == 2 ? "" : r.bodyText())).toLowerCase(java.util.Locale.ROOT);
        for (String internal : INTERNAL) {
            if (all.contains(internal)) {
                broken.add("internal detail '" + internal.trim() + "' in " + r);
            }
        }
        if (r.status() >= 400 && r.status() < 500) {
            if (r.body().length == 0 && CODEC_STATUSES.contains(r.status()) && r.header("content-type") == null) {
                return; // Vert.x' codec, before any route: see the class comment.
            }
            if (head) {
                // RFC 9110 §9.3.2: the answer to HEAD has the headers of the GET answer and never a body.
                return;
            }
            if (!"no-store".equals(r.header("cache-control"))) {
                broken.add("4xx without Cache-Control: no-store: " + r);
            }
            String type = r.header("content-type");
            if (type == null || !type.startsWith("application/json")) {
                broken.add("4xx not JSON: " + r);
                return;
            }
            try {
                JsonNode body = JSON.readTree(r.body());
                if (body == null
                        || !body.isObject()
                        || !body.path("error").isTextual()
                        || !RFC6749_ERRORS.contains(body.get("error").asText())) {
                    broken.add("4xx body is not an RFC 6749 error: " + r);
                }
            } catch (Exception e) {
                broken.add("4xx body is not JSON: " + r);
            }
        }
    }

    /** What the broker sent upstream passes every rule the broker itself checks for a code exchange. */
    static boolean validExchangeUpstream(String form) {
        Map<String, String> fields = new HashMap<>();
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                return false;
            }
            String name = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
            if (fields.put(name, URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8)) != null) {
                return false;
            }
        }
        return "authorization_code".equals(fields.get("grant_type"))
                && VSCHAR.matcher(fields.getOrDefault("code", "")).matches()
                && VERIFIER.matcher(fields.getOrDefault("code_verifier", "")).matches()
                && REDIRECTS.contains(fields.get("redirect_uri"));
    }
}
