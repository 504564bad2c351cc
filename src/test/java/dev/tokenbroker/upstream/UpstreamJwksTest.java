package dev.tokenbroker.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.upstream.UpstreamHttp.Reply;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.ParseException;
import io.smallrye.mutiny.Uni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The upstream's keys as {@link UpstreamJwks} keeps them: fetched once for many tokens, fetched again for a key id
 * the set lacks (a rotation at the upstream) but at most once per refetch interval, and no keys at all refused.
 */
class UpstreamJwksTest {

    private static final URI JWKS = URI.create("https://login.example.com/jwks");
    private static final String ISSUER = "https://login.example.com";

    private final List<String> fetched = new ArrayList<>();
    private final AtomicReference<String> published = new AtomicReference<>();

    private UpstreamJwks jwks(Duration refetchInterval) {
        return new UpstreamJwks(
                url -> {
                    fetched.add(url);
                    String body = published.get();
                    return body == null
                            ? Uni.createFrom().item(new Reply(503, null))
                            : Uni.createFrom().item(new Reply(200, body));
                },
                Duration.ofSeconds(1),
                refetchInterval,
                new ObjectMapper());
    }

    private static RsaJsonWebKey key(String kid) throws Exception {
        RsaJsonWebKey key = RsaJwkGenerator.generateJwk(2048);
        key.setKeyId(kid);
        return key;
    }

    private void publish(RsaJsonWebKey... keys) {
        published.set(new JsonWebKeySet(keys).toJson());
    }

    private static String token(RsaJsonWebKey key, String subject) throws Exception {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(ISSUER);
        claims.setSubject(subject);
        claims.setExpirationTimeMinutesInTheFuture(5);
        claims.setIssuedAtToNow();
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(key.getPrivateKey());
        jws.setKeyIdHeaderValue(key.getKeyId());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        return jws.getCompactSerialization();
    }

    private static JsonWebToken parse(UpstreamJwks jwks, String token) throws ParseException {
        return jwks.parse(token, JWKS, "test", (JWTAuthContextInfo info) -> {
            info.setIssuedBy(ISSUER);
            info.setRequireNamedPrincipal(false);
        });
    }

    @Test
    void theSetIsFetchedOnceForManyTokens() throws Exception {
        RsaJsonWebKey k1 = key("k1");
        publish(k1);
        UpstreamJwks jwks = jwks(Duration.ofMinutes(1));

        for (int i = 0; i < 5; i++) {
            assertEquals("alice", parse(jwks, token(k1, "alice")).getSubject());
        }
        assertEquals(List.of(JWKS.toString()), fetched);
    }

    @Test
    void aNewKeyIdFetchesTheSetAgainButAtMostOncePerInterval() throws Exception {
        RsaJsonWebKey k1 = key("k1");
        RsaJsonWebKey k2 = key("k2");
        publish(k1);
        UpstreamJwks jwks = jwks(Duration.ZERO);
        parse(jwks, token(k1, "alice"));

        // The upstream rotates to k2: the first token signed with it makes the broker fetch the set again.
        publish(k1, k2);
        assertEquals("bob", parse(jwks, token(k2, "bob")).getSubject());
        assertEquals(2, fetched.size());

        // A key id nobody publishes (forged), with an interval that has not passed: refused without a fetch.
        UpstreamJwks patient = jwks(Duration.ofMinutes(1));
        fetched.clear();
        parse(patient, token(k1, "alice"));
        assertThrows(ParseException.class, () -> parse(patient, token(key("forged"), "mallory")));
        assertThrows(ParseException.class, () -> parse(patient, token(key("forged-2"), "mallory")));
        assertEquals(1, fetched.size(), "no refetch within the interval");
    }

    @Test
    void aTokenByAKeyOfTheSetWithAnotherSignatureIsRefused() throws Exception {
        RsaJsonWebKey k1 = key("k1");
        publish(k1);
        RsaJsonWebKey impostor = key("k1");

        assertThrows(ParseException.class, () -> parse(jwks(Duration.ZERO), token(impostor, "mallory")));
    }

    @Test
    void withoutKeysNothingVerifiesAndFailedFetchesAreRateLimitedToo() {
        UpstreamJwks down = jwks(Duration.ofMinutes(1));
        for (int i = 0; i < 3; i++) {
            assertThrows(BrokerException.UpstreamUnavailable.class, () -> parse(down, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
        }
        assertEquals(1, fetched.size(), "one fetch per interval, failed or not");
        published.set("{\"not\":\"a key set\"}");
        assertThrows(
                BrokerException.UpstreamUnavailable.class,
                () -> parse(jwks(Duration.ZERO), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
    }
}
