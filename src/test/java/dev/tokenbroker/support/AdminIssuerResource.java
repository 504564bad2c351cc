package dev.tokenbroker.support;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

/** A second OpenID provider (mock-oauth2-server, issuer id {@code admin}) that issues the admin API's bearer tokens. */
public class AdminIssuerResource implements QuarkusTestResourceLifecycleManager {

    public static final String AUDIENCE = "token-broker";
    public static final String SCOPE = "token-broker:admin";

    private static MockOAuth2Server server;

    @Override
    public Map<String, String> start() {
        server = new MockOAuth2Server();
        try {
            server.start(InetAddress.getLoopbackAddress(), 0);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return Map.of(
                "broker.admin.issuer",
                server.issuerUrl("admin").toString(),
                "broker.admin.jwks-uri",
                server.jwksUrl("admin").toString(),
                "broker.admin.audience",
                AUDIENCE);
    }

    @Override
    public void stop() {
        server.shutdown();
    }

    /** A bearer token of {@code subject} for {@code audience} with these claims, valid for {@code seconds} (negative: expired). */
    public static String token(String subject, String audience, Map<String, Object> claims, long seconds) {
        return server.issueToken(
                        "admin",
                        "ops-cli",
                        new DefaultOAuth2TokenCallback("admin", subject, "JWT", List.of(audience), claims, seconds))
                .serialize();
    }

    /** A token from another issuer of the same server: its own keys, its own {@code iss}. */
    public static String foreignToken(String subject) {
        return server.issueToken(
                        "elsewhere",
                        "ops-cli",
                        new DefaultOAuth2TokenCallback(
                                "elsewhere", subject, "JWT", List.of(AUDIENCE), Map.of("scope", SCOPE), 60))
                .serialize();
    }
}
