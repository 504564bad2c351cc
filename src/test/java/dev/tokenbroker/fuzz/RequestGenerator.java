package dev.tokenbroker.fuzz;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import dev.tokenbroker.fuzz.FuzzCase.Upstream;

/**
 * Generates requests for the broker's HTTP surface from a seeded {@link Random}, so that every run is reproducible
 * from its seed. Each family either keeps a request valid or breaks it in a way that makes it invalid whatever a
 * lenient parser makes of it (the defect sits in a value whose every reading is invalid), which is what lets the
 * fuzzer require "no upstream call" for it. Families whose outcome the generator cannot know are marked
 * {@link Upstream#IF_VALID}.
 */
final class RequestGenerator {

    static final String VERIFIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
    static final String FORM = "application/x-www-form-urlencoded";
    static final String JSON = "application/json";

    /** Clients of the test profile, with a registered redirect URI each (clover-bound needs a DPoP proof). */
    private static final String[][] CLIENTS = {
        {"clover", "clover://auth-callback"}, {"clover-web", "https://app.example/callback"},
    };

    private static final String[] FORM_TYPES = {
        FORM, FORM + "; charset=UTF-8", "APPLICATION/X-WWW-FORM-URLENCODED", FORM + ";charset=utf-8",
    };
    private static final String[] JSON_TYPES = {
        JSON, JSON + "; charset=utf-8", "Application/JSON", JSON + ";charset=UTF-8"
    };
    /** Neither form nor JSON in any reading. */
    private static final String[] BAD_TYPES = {
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/x-www-form-urlencodedx",
        "application/jsonx",
        "text/html; charset=utf-8",
        "application/octet-stream",
        "image/png",
        "x",
        "/",
        ";",
        "application/",
        "application/x-www-form-urlencoded\u0000",
        "\u0000",
        "text/json",
        "form",
    };
    /** Types a server may or may not take as form or JSON. */
    private static final String[] ODD_TYPES = {
        "*/*",
        "application/*",
        FORM + "; charset=ISO-8859-1",
        FORM + "; charset=utf-16",
        JSON + "; charset=utf-16",
        FORM + ";;",
        FORM + "; boundary=x",
        JSON + "; a=\"b\"",
        FORM + "; charset=\"utf-8\"",
        " " + FORM,
        FORM + " ",
        "application/merge-patch+json",
        "application/vnd.api+json",
        FORM + "; charset=" + "x".repeat(500),
    };

    private static final String[] METHODS = {
        "GET",
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "HEAD",
        "TRACE",
        "CONNECT",
        "PROPFIND",
        "post",
        "Post",
        "FOO",
        "POST2"
    };
    private static final String[] PATHS = {"/oauth2/token", "/oauth2/revoke", "/oidc/backchannel-logout"};
    private static final String[] WRONG_PATHS = {
        "/oauth2/tokenx",
        "/oauth2/",
        "/oauth2",
        "/OAUTH2/TOKEN",
        "/oauth2/token/x",
        "/oauth2/%74oken%00",
        "/oauth2/../q/metrics",
        "/oauth2/%2e%2e/q/health",
        "/oauth2/token;x=1/y",
        "/oidc/backchannel-logout/x",
        "/oauth3/token",
        "/",
        "/%",
        "/%ff%fe",
        "//oauth2//revoke//x",
        "/oauth2/revoke%2f",
        "/dev/",
        "/favicon.ico",
    };
    /** Percent-encodings that are malformed, or decode to bytes that are not UTF-8 or are control characters. */
    private static final String[] BAD_ESCAPES = {
        "%",
        "%G1",
        "%4",
        "%%",
        "%zz",
        "%C3%28",
        "%C0%AF",
        "%E0%80%AF",
        "%ED%A0%80",
        "%F8%88%80%80%80",
        "%FF",
        "%FE%FF",
        "%00",
        "%0A",
        "%0D%0A",
        "%1B",
        "%7F",
        "%C2%80",
        "%EF%BF%BE",
    };
    /** Raw bytes, unencoded, inside a form value. */
    private static final byte[][] RAW_BAD_BYTES = {
        {0},
        {(byte) 0xC0, (byte) 0xAF},
        {(byte) 0xFF},
        {(byte) 0x80},
        {'\n'},
        {'\r', '\n'},
        {0x1B},
        {(byte) 0xE2, 0x28},
        {' '},
        {'"'},
        {'\\'}
    };

    private static final String[] GRANT_TYPES = {
        "",
        "AUTHORIZATION_CODE",
        "authorization_code ",
        " authorization_code",
        "password",
        "client_credentials",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "authorization%5Fcode",
        "refresh",
        "null",
        "authorization_code\u0000",
        "token",
    };

    private final Random random;
    private long index;
    private String code;

    RequestGenerator(long seed) {
        this.random = new Random(seed);
    }

    /** A valid code exchange for a random registered client: the baseline every exchange family breaks. */
    Map<String, String> validExchange() {
        String[] client = CLIENTS[random.nextInt(CLIENTS.length)];
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("grant_type", "authorization_code");
        m.put("client_id", client[0]);
        // Unique per case (its index), so that an upstream call can be matched to the case that caused it.
        code = "FZ-" + index + "-" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", 1 + random.nextInt(60));
        m.put("code", code);
        m.put("redirect_uri", client[1]);
        m.put("code_verifier", randomString(VERIFIER_CHARS, 43 + random.nextInt(86)));
        return m;
    }

    Map<String, String> refresh() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("grant_type", "refresh_token");
        m.put("client_id", CLIENTS[random.nextInt(CLIENTS.length)][0]);
        m.put("refresh_token", randomHandle());
        if (random.nextBoolean()) {
            m.put("scope", random.nextBoolean() ? "openid" : "openid offline_access");
        }
        return m;
    }

    Map<String, String> revoke() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("client_id", CLIENTS[random.nextInt(CLIENTS.length)][0]);
        m.put("token", random.nextInt(4) == 0 ? randomPrintable(1 + random.nextInt(80)) : randomHandle());
        if (random.nextBoolean()) {
            m.put("token_type_hint", random.nextBoolean() ? "refresh_token" : randomPrintable(10));
        }
        return m;
    }

    /** The next case: a family chosen at random, then its request. */
    FuzzCase next() {
        index++;
        code = null;
        int family = random.nextInt(100);
        FuzzCase c;
        if (family < 3) {
            c = valid(validExchange(), "valid-exchange", Upstream.EXPECTED);
        } else if (family < 8) {
            c = valid(refresh(), "refresh-random-handle", Upstream.NEVER);
        } else if (family < 12) {
            c = validRevoke();
        } else if (family < 30) {
            c = brokenExchange();
        } else if (family < 38) {
            c = brokenEncoding();
        } else if (family < 46) {
            c = brokenJson();
        } else if (family < 50) {
            c = wrongContentType();
        } else if (family < 53) {
            c = oddContentType();
        } else if (family < 58) {
            c = wrongMethod();
        } else if (family < 62) {
            c = wrongPath();
        } else if (family < 68) {
            c = backchannel();
        } else if (family < 72) {
            c = dpop();
        } else if (family < 80) {
            c = framing();
        } else if (family < 86) {
            c = headers();
        } else if (family < 88) {
            c = new FuzzCase("random-bytes", randomBytes(1 + random.nextInt(600)), Upstream.NEVER, true, 1, 0);
        } else {
            c = mutated();
        }
        if (random.nextInt(50) == 0) {
            // A slow sender: the same request in up to 8 pieces, at most 3 ms apart (bounded: 21 ms per case).
            c = c.slow(2 + random.nextInt(7), 1 + random.nextInt(3));
        }
        return c.withCode(code);
    }

    // --- families ---

    private FuzzCase valid(Map<String, String> fields, String family, Upstream upstream) {
        boolean json = random.nextInt(4) == 0;
        byte[] body = json ? json(fields) : form(fields);
        String type = pick(json ? JSON_TYPES : FORM_TYPES);
        return new FuzzCase(family, post("/oauth2/token", type, body), upstream, false, 1, 0);
    }

    private FuzzCase validRevoke() {
        Map<String, String> fields = revoke();
        boolean json = random.nextInt(4) == 0;
        return new FuzzCase(
                "revoke-random-token",
                post("/oauth2/revoke", pick(json ? JSON_TYPES : FORM_TYPES), json ? json(fields) : form(fields)),
                Upstream.NEVER,
                false,
                1,
                0);
    }

    /** A code exchange with one defect that no reading of the request can make valid. */
    private FuzzCase brokenExchange() {
        Map<String, String> f = validExchange();
        List<String> names = new ArrayList<>(f.keySet());
        String defect;
        switch (random.nextInt(9)) {
            case 0 -> {
                defect = "missing";
                f.remove(pick(names));
            }
            case 1 -> {
                defect = "grant_type";
                f.put("grant_type", pick(GRANT_TYPES) + (random.nextBoolean() ? randomPrintable(3) : ""));
            }
            case 2 -> {
                defect = "client_id";
                f.put(
                        "client_id",
                        pick(new String[] {"CLOVER", "clover ", " clover", "clover\u0000", "unknown", "clover-bound-x"})
                                + randomPrintable(random.nextInt(3)));
            }
            case 3 -> {
                defect = "code";
                f.put(
                        "code",
                        random.nextBoolean()
                                ? "x".repeat(2049 + random.nextInt(3000))
                                : "a" + pick(new String[] {"\u0000", "\u001f", "\u007f", "\u00e9", "\n", "\u2028"}));
            }
            case 4 -> {
                defect = "redirect_uri";
                f.put("redirect_uri", pick(new String[] {
                    "clover://auth-callback/",
                    "clover://evil",
                    "CLOVER://auth-callback",
                    "clover://auth-callback\u0000",
                    "https://app.example/callback?x=1",
                    "http://localhost:3000/cb#f",
                    ""
                }));
            }
            case 5 -> {
                defect = "code_verifier";
                f.put("code_verifier", pick(new String[] {
                    randomString(VERIFIER_CHARS, 42),
                    randomString(VERIFIER_CHARS, 129 + random.nextInt(500)),
                    randomString(VERIFIER_CHARS, 43) + "+",
                    randomString(VERIFIER_CHARS, 43) + "/",
                    randomString(VERIFIER_CHARS, 43) + "=",
                    randomString(VERIFIER_CHARS, 43) + " ",
                    randomString(VERIFIER_CHARS, 43) + "\u00e9",
                    randomString(VERIFIER_CHARS, 43) + "\u0000"
                }));
            }
            case 6 -> {
                defect = "dpop-required-client";
                f.put("client_id", "clover-bound");
                f.put("redirect_uri", "clover-bound://cb");
            }
            case 7 -> {
                defect = "duplicate";
                String name = pick(names);
                String value = random.nextBoolean() ? f.get(name) : randomPrintable(5);
                boolean json = random.nextBoolean();
                byte[] body = json
                        ? withDuplicateJson(f, name, value)
                        : concat(form(f), ("&" + enc(name) + "=" + enc(value)).getBytes(StandardCharsets.UTF_8));
                return new FuzzCase(
                        "exchange-duplicate",
                        post("/oauth2/token", pick(json ? JSON_TYPES : FORM_TYPES), body),
                        Upstream.NEVER,
                        false,
                        1,
                        0);
            }
            default -> {
                defect = "oversize-body";
                f.put("padding", "p".repeat(16 * 1024 + random.nextInt(20_000)));
            }
        }
        FuzzCase c = valid(f, "exchange-" + defect, Upstream.NEVER);
        return c;
    }

    /** Malformed or non-UTF-8 percent-encodings and raw bytes, in a value that is invalid in any reading. */
    private FuzzCase brokenEncoding() {
        Map<String, String> f = validExchange();
        String target = random.nextBoolean() ? "code_verifier" : "client_id";
        String prefix = target + "=" + enc(f.get(target));
        StringBuilder form = new StringBuilder();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> e : f.entrySet()) {
            if (form.length() > 0) {
                form.append('&');
            }
            if (e.getKey().equals(target)) {
                form.append('\u0001'); // placeholder for the broken value
            } else {
                form.append(enc(e.getKey())).append('=').append(enc(e.getValue()));
            }
        }
        String[] around = form.toString().split("\u0001", -1);
        body.writeBytes(around[0].getBytes(StandardCharsets.US_ASCII));
        body.writeBytes(prefix.getBytes(StandardCharsets.US_ASCII));
        if (random.nextBoolean()) {
            body.writeBytes(pick(BAD_ESCAPES).getBytes(StandardCharsets.US_ASCII));
        } else {
            body.writeBytes(RAW_BAD_BYTES[random.nextInt(RAW_BAD_BYTES.length)]);
        }
        body.writeBytes(around[1].getBytes(StandardCharsets.US_ASCII));
        String path = random.nextInt(4) == 0 ? "/oauth2/revoke" : "/oauth2/token";
        return new FuzzCase(
                "form-encoding", post(path, pick(FORM_TYPES), body.toByteArray()), Upstream.NEVER, false, 1, 0);
    }

    private FuzzCase brokenJson() {
        Map<String, String> f = validExchange();
        String valid = new String(json(f), StandardCharsets.UTF_8);
        String verifier = f.get("code_verifier");
        byte[] body = switch (random.nextInt(14)) {
            case 0 -> valid.substring(0, random.nextInt(valid.length())).getBytes(StandardCharsets.UTF_8);
            case 1 -> ("[" + valid + "]").getBytes(StandardCharsets.UTF_8);
            case 2 ->
                pick(new String[] {"null", "\"x\"", "42", "true", "", " ", "{}", "{", "}", "[]", "\u0000"})
                        .getBytes(StandardCharsets.UTF_8);
            case 3 ->
                valid.replace("\"" + verifier + "\"", pick(new String[] {
                            "42", "null", "true", "[\"" + verifier + "\"]", "{\"v\":1}", "1e999"
                        }))
                        .getBytes(StandardCharsets.UTF_8);
            case 4 -> valid.replace(verifier, verifier.substring(1) + "\\u0000").getBytes(StandardCharsets.UTF_8);
            case 5 ->
                concat(
                        valid.substring(0, valid.indexOf(verifier)).getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xC0, (byte) 0xAF},
                        valid.substring(valid.indexOf(verifier)).getBytes(StandardCharsets.UTF_8));
            case 6 ->
                concat(
                        valid.substring(0, valid.indexOf(verifier)).getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xFF, (byte) 0xFE},
                        valid.substring(valid.indexOf(verifier)).getBytes(StandardCharsets.UTF_8));
            case 7 -> "[".repeat(2000 + random.nextInt(3000)).getBytes(StandardCharsets.UTF_8);
            case 8 -> ("{\"a\":".repeat(1500) + "1" + "}".repeat(1500)).getBytes(StandardCharsets.UTF_8);
            case 9 -> (valid + "garbage").getBytes(StandardCharsets.UTF_8);
            case 10 ->
                valid.replace("\"code_verifier\"", "\"code_verifier\\ud800\"").getBytes(StandardCharsets.UTF_8);
            case 11 -> valid.replace("{", "{/*c*/").getBytes(StandardCharsets.UTF_8);
            case 12 -> valid.replace("\"", "'").getBytes(StandardCharsets.UTF_8);
            default ->
                concat(
                        new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, (byte) 0xFF},
                        valid.getBytes(StandardCharsets.UTF_8));
        };
        String path = random.nextInt(4) == 0 ? "/oauth2/revoke" : "/oauth2/token";
        return new FuzzCase("json-malformed", post(path, pick(JSON_TYPES), body), Upstream.NEVER, false, 1, 0);
    }

    private FuzzCase wrongContentType() {
        Map<String, String> f = validExchange();
        boolean json = random.nextBoolean();
        byte[] body = json ? json(f) : form(f);
        String type = random.nextInt(5) == 0 ? null : pick(BAD_TYPES);
        return new FuzzCase("content-type-wrong", post(pick(PATHS), type, body), Upstream.NEVER, false, 1, 0);
    }

    private FuzzCase oddContentType() {
        Map<String, String> f = validExchange();
        boolean json = random.nextBoolean();
        return new FuzzCase(
                "content-type-odd",
                post("/oauth2/token", pick(ODD_TYPES), json ? json(f) : form(f)),
                Upstream.IF_VALID,
                false,
                1,
                0);
    }

    private FuzzCase wrongMethod() {
        String method = pick(METHODS);
        boolean withBody = random.nextBoolean();
        byte[] body = withBody ? form(validExchange()) : new byte[0];
        String head = method + " " + pick(PATHS) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + (withBody ? "Content-Type: " + FORM + "\r\nContent-Length: " + body.length + "\r\n" : "") + "\r\n";
        // CONNECT and lower-case methods are not HTTP methods a server must know: it may close without an answer.
        return new FuzzCase(
                "method", concat(head.getBytes(StandardCharsets.US_ASCII), body), Upstream.NEVER, true, 1, 0);
    }

    private FuzzCase wrongPath() {
        String path = random.nextInt(5) == 0 ? "/oauth2/" + "a".repeat(100 + random.nextInt(9000)) : pick(WRONG_PATHS);
        return new FuzzCase("path", post(path, FORM, form(validExchange())), Upstream.NEVER, true, 1, 0);
    }

    private FuzzCase backchannel() {
        String token = switch (random.nextInt(6)) {
            case 0 -> "";
            case 1 -> randomPrintable(1 + random.nextInt(300));
            case 2 -> "eyJhbGciOiJub25lIn0." + b64(randomPrintable(40)) + ".";
            case 3 ->
                b64("{\"alg\":\"RS256\",\"kid\":\"" + randomPrintable(8) + "\"}") + "." + b64("{}") + "."
                        + b64(randomPrintable(30));
            case 4 -> "a.b.c.d.e";
            default -> "x".repeat(5000 + random.nextInt(10000));
        };
        byte[] body = random.nextInt(5) == 0
                ? ("logout_token=" + enc(token) + "&logout_token=x").getBytes(StandardCharsets.US_ASCII)
                : ("logout_token=" + enc(token)).getBytes(StandardCharsets.US_ASCII);
        String type = random.nextInt(6) == 0 ? pick(BAD_TYPES) : pick(FORM_TYPES);
        return new FuzzCase("backchannel", post("/oidc/backchannel-logout", type, body), Upstream.NEVER, false, 1, 0);
    }

    /** clover-bound requires a proof; the DPoP header here is never a valid one. */
    private FuzzCase dpop() {
        Map<String, String> f = validExchange();
        f.put("client_id", "clover-bound");
        f.put("redirect_uri", "clover-bound://cb");
        String proof = switch (random.nextInt(5)) {
            case 0 -> randomPrintable(1 + random.nextInt(200));
            case 1 -> b64("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}") + "." + b64("{}") + ".x";
            case 2 -> b64("{\"typ\":\"dpop+jwt\",\"alg\":\"none\"}") + "." + b64("{\"htm\":\"POST\"}") + ".";
            case 3 -> "e30.e30.e30";
            default -> "..";
        };
        String head = "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: " + FORM
                + "\r\nDPoP: " + proof + (random.nextInt(4) == 0 ? "\r\nDPoP: " + proof : "") + "\r\n";
        byte[] body = form(f);
        return new FuzzCase(
                "dpop",
                concat(
                        (head + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                        body),
                Upstream.NEVER,
                false,
                1,
                0);
    }

    /** Odd and conflicting Content-Length and Transfer-Encoding on an otherwise valid exchange. */
    private FuzzCase framing() {
        byte[] body = form(validExchange());
        String start =
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: " + FORM + "\r\n";
        int n = body.length;
        String chunked =
                Integer.toHexString(n) + "\r\n" + new String(body, StandardCharsets.US_ASCII) + "\r\n0\r\n\r\n";
        String request = switch (random.nextInt(16)) {
            case 0 -> start + "Content-Length: " + (n + 1 + random.nextInt(50)) + "\r\n\r\n" + ascii(body);
            case 1 -> start + "Content-Length: " + (n - 1 - random.nextInt(n - 1)) + "\r\n\r\n" + ascii(body);
            case 2 -> start + "Content-Length: " + n + "\r\nContent-Length: " + (n + 5) + "\r\n\r\n" + ascii(body);
            case 3 -> start + "Content-Length: -1\r\n\r\n" + ascii(body);
            case 4 -> start + "Content-Length: " + n + "x\r\n\r\n" + ascii(body);
            case 5 -> start + "Content-Length: 99999999999999999999\r\n\r\n" + ascii(body);
            case 6 -> start + "Content-Length: " + n + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked;
            case 7 -> start + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunked;
            case 8 -> start + "Transfer-Encoding: gzip\r\n\r\n" + ascii(body);
            case 9 -> start + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked;
            case 10 -> start + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + ascii(body) + "\r\n0\r\n\r\n";
            case 11 ->
                start + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(n + 10) + "\r\n" + ascii(body)
                        + "\r\n0\r\n\r\n";
            case 12 -> start + "Transfer-Encoding: chunked\r\n\r\n" + "1\r\na\r\n".repeat(3) + "FFFFFFFFFFFFFFFF\r\n";
            case 13 ->
                start + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(20_000) + "\r\n" + "a".repeat(20_000)
                        + "\r\n0\r\n\r\n";
            case 14 -> start + "Transfer-Encoding: identity\r\nContent-Length: " + n + "\r\n\r\n" + ascii(body);
            default -> start + "Content-Length:  " + n + " \r\nContent-Length: " + n + "\r\n\r\n" + ascii(body);
        };
        return new FuzzCase("framing", request.getBytes(StandardCharsets.ISO_8859_1), Upstream.IF_VALID, true, 1, 0);
    }

    /** Huge, broken, duplicated and control-character headers; odd request lines. */
    private FuzzCase headers() {
        byte[] body = form(validExchange());
        String cl = "Content-Length: " + body.length + "\r\nConnection: close\r\n";
        String ct = "Content-Type: " + FORM + "\r\n";
        String request = switch (random.nextInt(14)) {
            case 0 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "h".repeat(9000 + random.nextInt(60_000))
                        + "\r\n" + ct + cl + "\r\n" + ascii(body);
            case 1 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\n" + "X-H: 1\r\n".repeat(200 + random.nextInt(2000))
                        + ct + cl + "\r\n" + ascii(body);
            case 2 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nX-Ctl: a\u0000b\u0001c\r\n" + ct + cl + "\r\n"
                        + ascii(body);
            case 3 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nX-Fold: a\r\n  folded\r\n" + ct + cl + "\r\n"
                        + ascii(body);
            case 4 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n" + ct + cl + "\r\n" + ascii(body);
            case 5 -> "POST /oauth2/token HTTP/1.0\r\n" + ct + cl + "\r\n" + ascii(body);
            case 6 -> "POST /oauth2/token HTTP/2.0\r\nHost: localhost\r\n" + ct + cl + "\r\n" + ascii(body);
            case 7 -> "POST /oauth2/token\r\nHost: localhost\r\n" + ct + cl + "\r\n" + ascii(body);
            case 8 -> "POST http://localhost/oauth2/token HTTP/1.1\r\nHost: evil\r\n" + ct + cl + "\r\n" + ascii(body);
            case 9 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n" + ct + cl + "\r\n"
                        + ascii(body);
            case 10 ->
                "POST /oauth2/token HTTP/1.1\nHost: localhost\n" + ct.replace("\r", "") + cl.replace("\r", "") + "\n"
                        + ascii(body);
            case 11 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + FORM + "\r\nContent-Type: " + JSON
                        + "\r\n" + cl + "\r\n" + ascii(body);
            case 12 ->
                "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: " + randomPrintable(200) + "\r\n"
                        + "Content-Type: " + FORM + "\u00ff\r\n" + cl + "\r\n" + ascii(body);
            default ->
                "POST /oauth2/token" + "?q=" + "a".repeat(5000 + random.nextInt(5000)) + " HTTP/1.1\r\nHost: x\r\n" + ct
                        + cl + "\r\n" + ascii(body);
        };
        return new FuzzCase("headers", request.getBytes(StandardCharsets.ISO_8859_1), Upstream.IF_VALID, true, 1, 0);
    }

    /** A valid request of any kind with a few bytes flipped, inserted or deleted. */
    private FuzzCase mutated() {
        FuzzCase base = switch (random.nextInt(3)) {
            case 0 -> valid(validExchange(), "x", Upstream.IF_VALID);
            case 1 -> valid(refresh(), "x", Upstream.IF_VALID);
            default -> validRevoke();
        };
        byte[] bytes = base.bytes();
        int mutations = 1 + random.nextInt(4);
        for (int i = 0; i < mutations; i++) {
            int at = random.nextInt(bytes.length);
            bytes = switch (random.nextInt(4)) {
                case 0 -> {
                    byte[] copy = bytes.clone();
                    copy[at] = (byte) random.nextInt(256);
                    yield copy;
                }
                case 1 -> {
                    byte[] copy = bytes.clone();
                    copy[at] ^= (byte) (1 << random.nextInt(8));
                    yield copy;
                }
                case 2 ->
                    concat(
                            java.util.Arrays.copyOfRange(bytes, 0, at),
                            randomBytes(1 + random.nextInt(4)),
                            java.util.Arrays.copyOfRange(bytes, at, bytes.length));
                default ->
                    concat(
                            java.util.Arrays.copyOfRange(bytes, 0, at),
                            java.util.Arrays.copyOfRange(
                                    bytes, Math.min(bytes.length, at + 1 + random.nextInt(4)), bytes.length));
            };
        }
        return new FuzzCase("mutated", bytes, Upstream.IF_VALID, true, 1, 0);
    }

    // --- rendering ---

    static byte[] post(String path, String contentType, byte[] body) {
        String head = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n";
        return concat(head.getBytes(StandardCharsets.ISO_8859_1), body);
    }

    static byte[] form(Map<String, String> fields) {
        StringBuilder out = new StringBuilder();
        fields.forEach((k, v) -> out.append(out.length() == 0 ? "" : "&")
                .append(enc(k))
                .append('=')
                .append(enc(v)));
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] json(Map<String, String> fields) {
        return jsonObject(fields, Function.identity()).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] withDuplicateJson(Map<String, String> fields, String name, String value) {
        String object = jsonObject(fields, Function.identity());
        return (object.substring(0, object.length() - 1) + ",\"" + name + "\":" + quote(value) + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String jsonObject(Map<String, String> fields, Function<String, String> key) {
        StringBuilder out = new StringBuilder("{");
        fields.forEach((k, v) -> out.append(out.length() == 1 ? "" : ",")
                .append(quote(key.apply(k)))
                .append(':')
                .append(quote(v)));
        return out.append('}').toString();
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String ascii(byte[] body) {
        return new String(body, StandardCharsets.ISO_8859_1);
    }

    private static String b64(String s) {
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private String randomHandle() {
        return randomString(VERIFIER_CHARS.replace(".", "").replace("~", ""), 22) + "."
                + randomString(VERIFIER_CHARS.replace(".", "").replace("~", ""), 43);
    }

    private String randomString(String alphabet, int length) {
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return out.toString();
    }

    private String randomPrintable(int length) {
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append((char) (0x20 + random.nextInt(0x5F)));
        }
        return out.toString();
    }

    private byte[] randomBytes(int length) {
        byte[] b = new byte[length];
        random.nextBytes(b);
        return b;
    }

    private String pick(String[] options) {
        return options[random.nextInt(options.length)];
    }

    private String pick(List<String> options) {
        return options.get(random.nextInt(options.size()));
    }
}
