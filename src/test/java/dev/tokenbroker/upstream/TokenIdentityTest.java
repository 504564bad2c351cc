package dev.tokenbroker.upstream;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.ConfiguredUpstream;
import io.smallrye.mutiny.Uni;

import static dev.tokenbroker.upstream.DiscoveryTrustTest.ISSUER;
import static dev.tokenbroker.upstream.DiscoveryTrustTest.config;
import static dev.tokenbroker.upstream.DiscoveryTrustTest.document;
import static dev.tokenbroker.upstream.DiscoveryTrustTest.publishing;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Which thread reads a token's identity: only a verification may block (it may fetch the JWKS), so only that leaves
 * the caller's thread (on the broker's hot path, the event loop).
 */
class TokenIdentityTest {

    /** Signed by nobody: readable without a JWKS, never verifiable with one. */
    private static final String JWT = part("{\"alg\":\"RS256\"}") + "."
            + part("{\"iss\":\"" + ISSUER + "\",\"sub\":\"alice\",\"sid\":\"s-1\",\"aud\":\"app\"}") + ".c2ln";

    private static String part(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }

    private static UpstreamTokenResponse token(String accessToken, String idToken) {
        return new UpstreamTokenResponse(accessToken, "Bearer", 300L, null, "rt", idToken, null);
    }

    /** Runs {@code check} against a TokenIdentity whose discovery document is {@code discovery}. */
    private static void withIdentity(String discovery, Consumer<TokenIdentity> check) {
        ConfiguredUpstream configured = DiscoveryTrustTest.upstream(config(Map.of()));
        UpstreamMetadata metadata = new UpstreamMetadata(configured, publishing(discovery), new ObjectMapper());
        try {
            // The JWKS is refused at once, as from a closed port: nothing leaves the machine.
            UpstreamJwks jwks = new UpstreamJwks(
                    url -> Uni.createFrom().failure(new ConnectException("refused")),
                    Duration.ofSeconds(1),
                    Duration.ofMinutes(1),
                    new ObjectMapper());
            Upstream upstream = new Upstream(configured, null, metadata, jwks, new AtomicInteger());
            check.accept(new TokenIdentity(new Upstreams(List.of(upstream)), new ObjectMapper()));
        } finally {
            metadata.stop();
        }
    }

    private record Read(TokenIdentity.Identity identity, Thread thread) {}

    private static Read read(TokenIdentity identity, UpstreamTokenResponse token) {
        return identity.of(token, ConfiguredUpstream.DEFAULT, "app")
                .map(i -> new Read(i, Thread.currentThread()))
                .await()
                .indefinitely();
    }

    private static final String NO_JWKS =
            "{\"issuer\":\"" + ISSUER + "\",\"token_endpoint\":\"" + ISSUER + "/connect/token\"}";

    @Test
    void withoutAJwksClaimsAreReadOnTheCallersThread() {
        withIdentity(NO_JWKS, identity -> {
            Read read = read(identity, token("opaque", JWT));
            assertEquals(new TokenIdentity.Identity("alice", "s-1"), read.identity());
            assertSame(Thread.currentThread(), read.thread());
        });
    }

    @Test
    void aVerificationRunsOnAWorkerThreadAndFailsClosed() {
        withIdentity(document("http://127.0.0.1:9/connect/token", "http://127.0.0.1:9/jwks"), identity -> {
            Read read = read(identity, token("opaque", JWT));
            assertNotSame(Thread.currentThread(), read.thread());
            assertNull(read.identity().subject());
        });
    }

    @Test
    void anOpaqueTokenNeedsNoVerificationAndNoOtherThread() {
        withIdentity(document("http://127.0.0.1:9/connect/token", "http://127.0.0.1:9/jwks"), identity -> {
            Read read = read(identity, token("opaque", null));
            assertNull(read.identity().subject());
            assertSame(Thread.currentThread(), read.thread());
        });
    }

    /** Without a JWKS nothing is verified, but only a well-formed JWS yields claims, and only string ones. */
    @Test
    void unverifiedClaimsAreReadStrictly() {
        String header = part("{\"alg\":\"RS256\"}");
        withIdentity(NO_JWKS, identity -> {
            assertEquals(
                    new TokenIdentity.Identity(null, "s-1"),
                    read(identity, token("opaque", header + "." + part("{\"sub\":42,\"sid\":\"s-1\"}") + ".c2ln"))
                            .identity(),
                    "a sub that is not a string is absent");
            for (String malformed : new String[] {
                header + "." + part("{\"sub\":\"alice\",\"sub\":\"mallory\"}") + ".c2ln",
                part("not json") + "." + part("{\"sub\":\"alice\"}") + ".c2ln",
                part("[1]") + "." + part("{\"sub\":\"alice\"}") + ".c2ln",
                header + "." + part("\"alice\"") + ".c2ln",
                header + ".e30*." + "c2ln",
            }) {
                assertEquals(
                        TokenIdentity.Identity.UNKNOWN,
                        read(identity, token("opaque", malformed)).identity(),
                        malformed);
            }
            // No ID token: the access token speaks for the user.
            assertEquals(
                    new TokenIdentity.Identity("alice", "s-1"),
                    read(identity, token(JWT, null)).identity());
        });
    }
}
