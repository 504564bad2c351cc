package dev.tokenbroker.crypto;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwa.AlgorithmConstraints.ConstraintType;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.NumericDate;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.lang.JoseException;

/**
 * Verifies DPoP proofs (RFC 9449 §4.2 and §4.3): one proof, one request, no I/O.
 *
 * <p>A DPoP proof is a JWS the client signs with a private key it keeps; the matching public key travels in
 * the proof's own {@code jwk} header. Verifying it proves that whoever sent this request holds that private
 * key, and the key's RFC 7638 thumbprint ({@code jkt}) is what a refresh handle gets bound to. Everything an
 * attacker controls is in the proof, so every check below fails closed and reports a fixed, short reason that
 * never echoes the proof or any key material (the reason may end up in a response or a log line).
 *
 * <p>What this class deliberately does not do, because it needs state the caller has: the {@code jti} replay
 * check (RFC 9449 §11.1, a shared store), checking that at most one {@code DPoP} header was sent, and issuing
 * nonces. The {@code ath} claim is ignored: the broker binds refresh handles, not access tokens.
 *
 * <p>Parsing and signature verification are jose4j's; this class only decides which header values, keys and
 * claims are acceptable. Instances are immutable and thread safe.
 */
public final class DpopProofs {

    /** Longest proof accepted. A real proof (RSA-4096 key and signature included) is well under 3 KiB. */
    public static final int MAX_PROOF_LENGTH = 8 * 1024;

    /** Longest {@code jti} accepted: ample for a UUID or 128+ random bits, short enough to key a replay store. */
    public static final int MAX_JTI_LENGTH = 256;

    /**
     * The only algorithms that can ever be accepted, whatever is configured: the asymmetric JWS algorithms
     * jose4j verifies on Java 17. RFC 9449 §4.3 requires an asymmetric algorithm; a MAC ({@code HS*}) would
     * need a shared secret and proves nothing about a client-held key, and {@code none} proves nothing at all.
     */
    private static final Set<String> ASYMMETRIC = Set.of(
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384,
            AlgorithmIdentifiers.ECDSA_USING_P521_CURVE_AND_SHA512,
            AlgorithmIdentifiers.RSA_USING_SHA256,
            AlgorithmIdentifiers.RSA_USING_SHA384,
            AlgorithmIdentifiers.RSA_USING_SHA512,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA256,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA384,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA512,
            AlgorithmIdentifiers.EDDSA);

    /**
     * JWK members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
     * Their presence means the client leaked its private key into a header anyone can read, so the key can no
     * longer prove possession (RFC 9449 §4.3 check 7).
     */
    private static final Set<String> PRIVATE_JWK_MEMBERS = Set.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");

    /** Three base64url parts separated by dots, nothing else: rules out lists, whitespace, padding, JWE. */
    private static final Pattern COMPACT_JWS = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");

    private static final String TYP = "dpop+jwt";

    private final Set<String> allowedAlgorithms;
    private final Duration maxAge;
    private final Duration clockSkew;

    /**
     * @param allowedAlgorithms asymmetric JWS algs, e.g. ES256, ES384, ES512, RS256, PS256, EdDSA...; reject any
     *                          symmetric or "none" even if listed
     * @param maxAge            how old a proof's {@code iat} may be
     * @param clockSkew         tolerance for client clocks, applied at both ends of the {@code iat} window
     * @throws IllegalArgumentException if no asymmetric algorithm is left, or a duration is negative
     */
    public DpopProofs(Set<String> allowedAlgorithms, Duration maxAge, Duration clockSkew) {
        Set<String> usable = new LinkedHashSet<>(Objects.requireNonNull(allowedAlgorithms, "allowedAlgorithms"));
        usable.retainAll(ASYMMETRIC);
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no asymmetric DPoP algorithm allowed; supported: " + ASYMMETRIC);
        }
        this.allowedAlgorithms = Set.copyOf(usable);
        this.maxAge = requireNotNegative(maxAge, "maxAge");
        this.clockSkew = requireNotNegative(clockSkew, "clockSkew");
    }

    /**
     * Verifies one DPoP proof header value for a request.
     *
     * @param proof         the {@code DPoP} request header value
     * @param htm           the request method, e.g. "POST"
     * @param htu           the request's target URI as the broker knows it from its configured external base URL
     *                      (no query/fragment)
     * @param now           the current time
     * @param expectedNonce the server nonce the proof must carry, or empty when nonces are not used
     * @return the verified proof: jkt (base64url SHA-256 JWK thumbprint, RFC 7638), jti, iat
     * @throws Rejected with a short, safe, human-readable reason (never the proof or key material)
     */
    public Proof verify(String proof, String htm, URI htu, Instant now, Optional<String> expectedNonce) {
        Objects.requireNonNull(htm, "htm");
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(expectedNonce, "expectedNonce");
        String requestHtu = normalizeHtu(Objects.requireNonNull(htu, "htu"));
        if (requestHtu == null) {
            throw new IllegalArgumentException("request URI is not an absolute http(s) URI");
        }

        JsonWebSignature jws = parse(proof);
        String alg = checkHeader(jws);
        PublicJsonWebKey jwk = embeddedPublicKey(jws);
        checkSignature(jws, alg, jwk);
        JwtClaims claims = claims(jws);

        String jti = stringClaim(claims, "jti", "jti missing or not a string");
        if (jti.isEmpty() || jti.length() > MAX_JTI_LENGTH) {
            throw new Rejected("jti empty or too long");
        }
        if (!htm.equals(stringClaim(claims, "htm", "htm missing or not a string"))) {
            throw new Rejected("htm does not match the request method");
        }
        String proofHtu = normalizeHtu(stringClaim(claims, "htu", "htu missing or not a string"));
        if (proofHtu == null) {
            throw new Rejected("htu is not an absolute http(s) URI");
        }
        if (!proofHtu.equals(requestHtu)) {
            throw new Rejected("htu does not match the request URI");
        }
        Instant iat = checkIat(claims, now);
        // Last, so that a use_dpop_nonce answer is only given to a proof that is otherwise acceptable and can
        // succeed once the client adds the nonce.
        expectedNonce.ifPresent(nonce -> checkNonce(claims, nonce));

        return new Proof(thumbprint(jwk), jti, iat);
    }

    /** The verified content of a proof: what the caller binds ({@code jkt}) and what it replay-checks. */
    public record Proof(String jkt, String jti, Instant iat) {}

    /**
     * The proof is not acceptable. The message is one of a fixed set of reasons, safe to show the client.
     * {@link #isNonceError()} tells the caller to answer {@code use_dpop_nonce} with a fresh {@code DPoP-Nonce}
     * (RFC 9449 §8) instead of {@code invalid_dpop_proof}.
     */
    public static final class Rejected extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final boolean nonceError;

        public Rejected(String reason) {
            this(reason, false);
        }

        private Rejected(String reason, boolean nonceError) {
            // No stack trace: rejections are expected input, thrown per request, and the reason says it all.
            super(reason, null, false, false);
            this.nonceError = nonceError;
        }

        /** Whether the only problem is a missing or stale server nonce. */
        public boolean isNonceError() {
            return nonceError;
        }
    }

    private static JsonWebSignature parse(String proof) {
        if (proof == null || proof.isEmpty()) {
            throw new Rejected("DPoP proof missing");
        }
        // Before any decoding: bounds the work an unauthenticated client can make us do.
        if (proof.length() > MAX_PROOF_LENGTH) {
            throw new Rejected("DPoP proof too large");
        }
        if (!COMPACT_JWS.matcher(proof).matches()) {
            throw new Rejected("DPoP proof is not a single compact JWS");
        }
        try {
            JsonWebSignature jws = new JsonWebSignature();
            jws.setCompactSerialization(proof);
            return jws;
        } catch (JoseException | RuntimeException e) {
            throw new Rejected("DPoP proof is not a well-formed JWS");
        }
    }

    /** RFC 9449 §4.3 checks 4 and 5: explicit typing, then an allowed asymmetric algorithm. */
    private String checkHeader(JsonWebSignature jws) {
        // Media type names compare case-insensitively and may carry the "application/" prefix (RFC 7515 §4.1.9).
        Object typ = jws.getObjectHeader("typ");
        if (!(typ instanceof String t) || !(t.equalsIgnoreCase(TYP) || t.equalsIgnoreCase("application/" + TYP))) {
            throw new Rejected("typ must be dpop+jwt");
        }
        Object alg = jws.getObjectHeader("alg");
        if (!(alg instanceof String a) || !allowedAlgorithms.contains(a)) {
            throw new Rejected("alg not allowed");
        }
        return a;
    }

    /** RFC 9449 §4.3 check 7: the {@code jwk} header is there, parses, and is a bare public key. */
    private static PublicJsonWebKey embeddedPublicKey(JsonWebSignature jws) {
        Object header = jws.getObjectHeader("jwk");
        if (!(header instanceof Map<?, ?> members)) {
            throw new Rejected("jwk header missing");
        }
        if ("oct".equals(members.get("kty")) || PRIVATE_JWK_MEMBERS.stream().anyMatch(members::containsKey)) {
            throw new Rejected("jwk must be a public key only");
        }
        PublicJsonWebKey jwk;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> params = (Map<String, Object>) members;
            jwk = PublicJsonWebKey.Factory.newPublicJwk(params);
        } catch (JoseException | RuntimeException e) {
            throw new Rejected("jwk is not a usable public key");
        }
        return jwk;
    }

    /** RFC 9449 §4.3 check 6: the signature verifies with the embedded key under the header's algorithm only. */
    private static void checkSignature(JsonWebSignature jws, String alg, PublicJsonWebKey jwk) {
        jws.setAlgorithmConstraints(new AlgorithmConstraints(ConstraintType.PERMIT, alg));
        jws.setKey(jwk.getPublicKey());
        boolean valid;
        try {
            valid = jws.verifySignature();
        } catch (JoseException | RuntimeException e) {
            // Wrong key type or curve for alg, an RSA key under 2048 bits, an unknown "crit" header.
            throw new Rejected("jwk or header not usable with alg");
        }
        if (!valid) {
            throw new Rejected("signature does not verify with the embedded jwk");
        }
    }

    private static JwtClaims claims(JsonWebSignature jws) {
        try {
            return JwtClaims.parse(jws.getPayload());
        } catch (JoseException | InvalidJwtException | RuntimeException e) {
            throw new Rejected("DPoP proof claims are not a JSON object");
        }
    }

    private static String stringClaim(JwtClaims claims, String name, String reason) {
        if (claims.getClaimValue(name) instanceof String value) {
            return value;
        }
        throw new Rejected(reason);
    }

    /**
     * RFC 9449 §4.3 check 11, §11.1: {@code iat} within {@code [now - maxAge - clockSkew, now + clockSkew]}.
     * The window bounds how long a captured proof stays usable and so how long the caller must remember jtis.
     */
    private Instant checkIat(JwtClaims claims, Instant now) {
        Instant iat;
        try {
            NumericDate value = claims.getIssuedAt();
            if (value == null) {
                throw new Rejected("iat missing");
            }
            iat = Instant.ofEpochSecond(value.getValue());
        } catch (MalformedClaimException | DateTimeException e) {
            throw new Rejected("iat is not a valid time");
        }
        if (iat.isBefore(now.minus(maxAge).minus(clockSkew))) {
            throw new Rejected("iat too old");
        }
        if (iat.isAfter(now.plus(clockSkew))) {
            throw new Rejected("iat in the future");
        }
        return iat;
    }

    /** RFC 9449 §4.3 check 10, §8. Compared in constant time: nonces are server secrets until handed out. */
    private static void checkNonce(JwtClaims claims, String expected) {
        Object nonce = claims.getClaimValue("nonce");
        if (!(nonce instanceof String actual)) {
            throw new Rejected("nonce missing", true);
        }
        if (!MessageDigest.isEqual(
                actual.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            throw new Rejected("nonce wrong or expired", true);
        }
    }

    private static String thumbprint(JsonWebKey jwk) {
        try {
            return jwk.calculateBase64urlEncodedThumbprint("SHA-256");
        } catch (RuntimeException e) {
            throw new Rejected("jwk is not a usable public key");
        }
    }

    private static Duration requireNotNegative(Duration value, String name) {
        if (Objects.requireNonNull(value, name).isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative");
        }
        return value;
    }

    // ---- htu comparison (RFC 9449 §4.3 check 9) ----

    private static String normalizeHtu(String htu) {
        try {
            return normalizeHtu(new URI(htu));
        } catch (URISyntaxException e) {
            return null;
        }
    }

    /**
     * The comparable form of an http(s) target URI: RFC 3986 §6.2.2 syntax-based normalization (lower-case scheme
     * and host, upper-case percent-encoding hex digits, unreserved characters decoded, dot segments removed) and
     * §6.2.3 scheme-based normalization (default port dropped, empty path as "/"). Query and fragment are left out
     * because RFC 9449 §4.2 excludes them from {@code htu}. Returns null for anything that is not an absolute
     * http(s) URI with a host and without user information (RFC 9110 §4.2.4 forbids the latter).
     */
    static String normalizeHtu(URI uri) {
        if (!uri.isAbsolute() || uri.isOpaque() || uri.getRawUserInfo() != null) {
            return null;
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int defaultPort;
        if (scheme.equals("https")) {
            defaultPort = 443;
        } else if (scheme.equals("http")) {
            defaultPort = 80;
        } else {
            return null;
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            return null;
        }
        int port = uri.getPort() == defaultPort ? -1 : uri.getPort();
        String rawPath = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String path = normalizePercentEncoding(rawPath);
        if (path == null) {
            return null;
        }
        return scheme + "://" + host.toLowerCase(Locale.ROOT) + (port == -1 ? "" : ":" + port)
                + removeDotSegments(path);
    }

    /** Upper-cases the hex digits of every percent-encoded octet and decodes those of unreserved characters. */
    private static String normalizePercentEncoding(String path) {
        StringBuilder out = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 2 >= path.length()) {
                return null;
            }
            int hi = Character.digit(path.charAt(i + 1), 16);
            int lo = Character.digit(path.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            char decoded = (char) (hi << 4 | lo);
            if (isUnreserved(decoded)) {
                out.append(decoded);
            } else {
                out.append('%')
                        .append(Character.toUpperCase(path.charAt(i + 1)))
                        .append(Character.toUpperCase(path.charAt(i + 2)));
            }
            i += 2;
        }
        return out.toString();
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'A' && c <= 'Z')
                || (c >= 'a' && c <= 'z')
                || (c >= '0' && c <= '9')
                || c == '-'
                || c == '.'
                || c == '_'
                || c == '~';
    }

    /** RFC 3986 §5.2.4 for an absolute path: "." segments vanish, ".." removes its predecessor. */
    private static String removeDotSegments(String absolutePath) {
        String[] segments = absolutePath.substring(1).split("/", -1);
        Deque<String> kept = new ArrayDeque<>();
        for (int i = 0; i < segments.length; i++) {
            String segment = segments[i];
            boolean last = i == segments.length - 1;
            if (segment.equals(".") || segment.equals("..")) {
                if (segment.equals("..") && !kept.isEmpty()) {
                    kept.removeLast();
                }
                if (last) {
                    kept.addLast("");
                }
            } else {
                kept.addLast(segment);
            }
        }
        return "/" + String.join("/", kept);
    }
}
