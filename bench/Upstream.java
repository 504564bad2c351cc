import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * A minimal, fast stand-in for the upstream token server (JDK only): blocking sockets, one thread per
 * keep-alive connection (at most 2048 connections), loopback only.
 *
 * <pre>
 * POST /connect/token       authorization_code (any code) or refresh_token: a token response
 * POST /connect/revocation  200, empty body
 * GET  /stats               call counters as key=value lines
 * GET  /.well-known/openid-configuration, /connect/jwks    OpenID discovery and the signing key (web-mode brokers)
 * GET  /connect/authorize   signs the user in at once: 302 to redirect_uri with a code and the state
 * </pre>
 *
 * A code from {@code /connect/authorize} is usable once, only with the verifier of the request's S256
 * {@code code_challenge}, and its token response adds an RS256 {@code id_token} with the request's {@code nonce} and
 * {@code aud} = its {@code client_id}, signed with a key made at start and published at {@code /connect/jwks}. Any
 * other code gets the plain token response (native rows).
 *
 * Arguments: {@code port=N} (0: any free port, printed as "listening N"), {@code rotate=true|false}
 * (default true: every refresh returns a new refresh token), {@code delay-ms=N} (default 0: sleep before
 * answering a token call), {@code strict=true|false} (default true: refresh tokens are checked, a token the
 * upstream did not issue, already rotated away or revoked gets 400 invalid_grant and is counted as
 * {@code rejected}: this is how the benchmark notices a refresh token presented twice),
 * {@code max-seconds=N} (default 3600: the process exits after that long whatever happens).
 */
public final class Upstream {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    /** The access tokens' JOSE header (base64url): how {@code Api} recognises a token this upstream issued. */
    static final String JWT_HEADER = B64.encodeToString(
            "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"bench\"}".getBytes(StandardCharsets.UTF_8));

    static final LongAdder codeCalls = new LongAdder();
    static final LongAdder refreshCalls = new LongAdder();
    static final LongAdder revocationCalls = new LongAdder();
    static final LongAdder otherCalls = new LongAdder();
    static final LongAdder rejected = new LongAdder();
    static final LongAdder authorizeCalls = new LongAdder();
    static final LongAdder metadataCalls = new LongAdder();
    static final ConcurrentHashMap<String, Boolean> live = new ConcurrentHashMap<>();

    /** What an authorization request left for its code: the client, the nonce and the PKCE challenge. */
    record Authorization(String clientId, String nonce, String challenge) {}

    static final ConcurrentHashMap<String, Authorization> codes = new ConcurrentHashMap<>();
    /** Bounds the codes held at once (each is taken by one exchange): the map cannot grow without limit. */
    static final int MAX_PENDING_CODES = 100_000;

    static final String ID_KID = "bench-id";
    static final String ID_HEADER = B64.encodeToString(
            ("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" + ID_KID + "\"}").getBytes(StandardCharsets.UTF_8));
    static KeyPair signingKey;

    static boolean rotate = true;
    static boolean strict = true;
    static long delayMs = 0;
    static String issuer;

    public static void main(String[] args) throws Exception {
        int port = 0;
        long maxSeconds = 3600;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "port" -> port = Integer.parseInt(kv[1]);
                case "rotate" -> rotate = Boolean.parseBoolean(kv[1]);
                case "strict" -> strict = Boolean.parseBoolean(kv[1]);
                case "delay-ms" -> delayMs = Long.parseLong(kv[1]);
                case "max-seconds" -> maxSeconds = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        signingKey = rsa.generateKeyPair();
        ServerSocket server = new ServerSocket(port, 1024, InetAddress.getLoopbackAddress());
        issuer = "http://127.0.0.1:" + server.getLocalPort();
        System.out.println("listening " + server.getLocalPort() + " rotate=" + rotate + " strict=" + strict
                + " delay-ms=" + delayMs);
        System.out.flush();
        Http.acceptForever(server, "upstream-conn", maxSeconds, s -> serve(s));
    }

    private static void serve(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(120_000);
            Http.In in = new Http.In(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                Http.Message req = Http.read(in, false);
                if (req == null) {
                    return;
                }
                String[] start = req.startLine.split(" ");
                String method = start[0];
                String target = start.length > 1 ? start[1] : "";
                int q = target.indexOf('?');
                String path = q < 0 ? target : target.substring(0, q);
                String query = q < 0 ? "" : target.substring(q + 1);
                int status;
                String body;
                String type = "application/json";
                String location = null;
                if (method.equals("POST") && path.equals("/connect/token")) {
                    if (delayMs > 0) {
                        Thread.sleep(delayMs);
                    }
                    String form = req.bodyString();
                    String grant = Http.formField(form, "grant_type");
                    if ("authorization_code".equals(grant)) {
                        codeCalls.increment();
                        String code = Http.formField(form, "code");
                        Authorization login = code == null ? null : codes.remove(code);
                        if (login != null && !login.challenge().equals(s256(Http.formField(form, "code_verifier")))) {
                            rejected.increment();
                            status = 400;
                            body = "{\"error\":\"invalid_grant\",\"error_description\":\"PKCE verification failed\"}";
                        } else {
                            String rt = randomToken(32);
                            if (strict) {
                                live.put(rt, Boolean.TRUE);
                            }
                            status = 200;
                            body = login == null ? tokenResponse(rt) : tokenResponse(rt, idToken(login));
                        }
                    } else if ("refresh_token".equals(grant)) {
                        refreshCalls.increment();
                        String presented = Http.formField(form, "refresh_token");
                        boolean ok = presented != null
                                && (!strict || (rotate ? live.remove(presented) != null : live.containsKey(presented)));
                        if (!ok) {
                            rejected.increment();
                            status = 400;
                            body = "{\"error\":\"invalid_grant\"}";
                        } else {
                            String rt = rotate ? randomToken(32) : presented;
                            if (strict && rotate) {
                                live.put(rt, Boolean.TRUE);
                            }
                            status = 200;
                            body = tokenResponse(rt);
                        }
                    } else {
                        otherCalls.increment();
                        status = 400;
                        body = "{\"error\":\"unsupported_grant_type\"}";
                    }
                } else if (method.equals("POST") && path.equals("/connect/revocation")) {
                    revocationCalls.increment();
                    String token = Http.formField(req.bodyString(), "token");
                    if (strict && token != null) {
                        live.remove(token);
                    }
                    status = 200;
                    body = "";
                } else if (method.equals("GET") && path.equals("/connect/authorize")) {
                    authorizeCalls.increment();
                    String redirectUri = Http.formField(query, "redirect_uri");
                    String state = Http.formField(query, "state");
                    String clientId = Http.formField(query, "client_id");
                    String nonce = Http.formField(query, "nonce");
                    String challenge = Http.formField(query, "code_challenge");
                    if (redirectUri == null
                            || state == null
                            || clientId == null
                            || nonce == null
                            || challenge == null
                            || !"S256".equals(Http.formField(query, "code_challenge_method"))
                            || codes.size() >= MAX_PENDING_CODES) {
                        status = 400;
                        body = "{\"error\":\"invalid_request\"}";
                    } else {
                        String code = "bench-authz-" + randomToken(24);
                        codes.put(code, new Authorization(clientId, nonce, challenge));
                        status = 302;
                        body = "";
                        location = redirectUri + (redirectUri.contains("?") ? "&" : "?") + "code=" + Http.enc(code)
                                + "&state=" + Http.enc(state);
                    }
                } else if (method.equals("GET") && path.equals("/.well-known/openid-configuration")) {
                    metadataCalls.increment();
                    status = 200;
                    body = "{\"issuer\":\"" + issuer + "\",\"authorization_endpoint\":\"" + issuer
                            + "/connect/authorize\",\"token_endpoint\":\"" + issuer + "/connect/token\","
                            + "\"revocation_endpoint\":\"" + issuer + "/connect/revocation\",\"jwks_uri\":\"" + issuer
                            + "/connect/jwks\",\"response_types_supported\":[\"code\"],\"subject_types_supported\":"
                            + "[\"public\"],\"id_token_signing_alg_values_supported\":[\"RS256\"],"
                            + "\"code_challenge_methods_supported\":[\"S256\"]}";
                } else if (method.equals("GET") && path.equals("/connect/jwks")) {
                    metadataCalls.increment();
                    RSAPublicKey k = (RSAPublicKey) signingKey.getPublic();
                    status = 200;
                    body = "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"" + ID_KID
                            + "\",\"n\":\"" + unsigned(k.getModulus()) + "\",\"e\":\"" + unsigned(k.getPublicExponent())
                            + "\"}]}";
                } else if (method.equals("GET") && path.equals("/stats")) {
                    status = 200;
                    type = "text/plain";
                    body = "code=" + codeCalls.sum() + "\nrefresh=" + refreshCalls.sum() + "\nrevocation="
                            + revocationCalls.sum() + "\nother=" + otherCalls.sum() + "\nrejected=" + rejected.sum()
                            + "\nlive=" + live.size() + "\nauthorize=" + authorizeCalls.sum() + "\nmetadata="
                            + metadataCalls.sum() + "\n";
                } else {
                    otherCalls.increment();
                    status = 404;
                    body = "{\"error\":\"not_found\"}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "HTTP/1.1 " + status
                        + (status == 200
                                ? " OK"
                                : status == 302 ? " Found" : status == 404 ? " Not Found" : " Bad Request")
                        + (location == null ? "" : "\r\nLocation: " + location)
                        + "\r\nContent-Type: " + type + "\r\nCache-Control: no-store\r\nContent-Length: " + b.length
                        + "\r\n\r\n";
                byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
                byte[] all = new byte[h.length + b.length];
                System.arraycopy(h, 0, all, 0, h.length);
                System.arraycopy(b, 0, all, h.length, b.length);
                out.write(all);
                out.flush();
                if (req.close) {
                    return;
                }
            }
        } catch (IOException e) {
            // client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String randomToken(int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        return B64.encodeToString(b);
    }

    /** A JWT-shaped access token: real JSON header and claims (sub, sid), a random 256-byte "signature". */
    static String accessToken() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long now = System.currentTimeMillis() / 1000;
        String claims = "{\"iss\":\"" + issuer + "\",\"nbf\":" + now + ",\"iat\":" + now + ",\"exp\":" + (now + 3600)
                + ",\"client_id\":\"bench\",\"sub\":\"user-" + r.nextInt(1_000_000) + "\",\"sid\":\"" + randomToken(12)
                + "\",\"auth_time\":" + now + ",\"idp\":\"local\",\"jti\":\"" + randomToken(12)
                + "\",\"scope\":[\"openid\",\"offline_access\",\"api\"],\"amr\":[\"pwd\"]}";
        return JWT_HEADER + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8)) + "." + randomToken(256);
    }

    static String tokenResponse(String refreshToken) {
        return tokenResponse(refreshToken, null);
    }

    static String tokenResponse(String refreshToken, String idToken) {
        return "{\"access_token\":\"" + accessToken() + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                + "\"scope\":\"openid offline_access api\",\"refresh_token\":\"" + refreshToken + "\""
                + (idToken == null ? "" : ",\"id_token\":\"" + idToken + "\"") + "}";
    }

    /** An ID token for a login that came through /connect/authorize (OIDC Core §2): RS256 with the start key. */
    static String idToken(Authorization login) {
        long now = System.currentTimeMillis() / 1000;
        String claims = "{\"iss\":\"" + issuer + "\",\"sub\":\"user-"
                + ThreadLocalRandom.current().nextInt(1_000_000)
                + "\",\"aud\":\"" + login.clientId() + "\",\"iat\":" + now + ",\"nbf\":" + now + ",\"exp\":"
                + (now + 3600) + ",\"auth_time\":" + now + ",\"nonce\":\"" + login.nonce() + "\",\"sid\":\""
                + randomToken(12) + "\",\"name\":\"Bench User\"}";
        String signingInput = ID_HEADER + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        try {
            java.security.Signature rs256 = java.security.Signature.getInstance("SHA256withRSA");
            rs256.initSign(signingKey.getPrivate());
            rs256.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + B64.encodeToString(rs256.sign());
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** RFC 7636 S256 of a verifier; "" for none. */
    static String s256(String verifier) {
        if (verifier == null) {
            return "";
        }
        try {
            return B64.encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JWK integer (RFC 7518 §6.3.1): base64url of its unsigned big-endian bytes. */
    static String unsigned(BigInteger value) {
        byte[] b = value.toByteArray();
        int skip = b.length > 1 && b[0] == 0 ? 1 : 0;
        return B64.encodeToString(java.util.Arrays.copyOfRange(b, skip, b.length));
    }
}
