package dev.tokenbroker.devmode;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.runtime.Startup;
import io.vertx.ext.web.Router;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;

/**
 * Dev mode only ({@code ./mvnw quarkus:dev}): brings the Redis and the upstream OpenID provider that the
 * {@code %dev} configuration points at, on loopback, and prints a walk-through. Starts before the beans that
 * use them (lower {@link Startup} priority). Not part of the production build: the bean is removed outside
 * the dev profile and its libraries are {@code provided}-scoped.
 */
@IfBuildProfile("dev")
@Startup(100)
@Singleton
public class DevServices {

    /** Quarkus' profile prefix (a literal would read as a format specifier to checks). */
    private static final String PROFILE_PREFIX = String.valueOf('%');

    private static final Logger LOG = Logger.getLogger(DevServices.class);
    /** An example PKCE verifier for the printed walk-through; dev only. */
    private static final String EXAMPLE_VERIFIER = "dev-walkthrough-verifier-0123456789-abcdefghij";

    private final RedisServer redis;
    private final MockOAuth2Server upstream;
    private final String loginPage;

    DevServices(
            BrokerConfig config,
            @ConfigProperty(name = "quarkus.redis.hosts") URI redisUri,
            @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080") int httpPort,
            @ConfigProperty(name = "quarkus.management.port", defaultValue = "9000") int managementPort)
            throws Exception {
        DevEnvironmentGuard.check(ConfigProvider.getConfig());
        redis = RedisServer.listening(redisUri.getPort())
                ? null
                : RedisServer.start(
                        redisUri.getPort(), Path.of("target", "dev-redis").toAbsolutePath());
        URI issuer = config.upstream()
                .issuer()
                .orElseThrow(() -> new IllegalStateException(
                        PROFILE_PREFIX + "dev.broker.upstream.issuer must name the embedded upstream"));
        if (RedisServer.listening(issuer.getPort())) {
            upstream = null;
        } else {
            // A real login form (any user name), as a person meets it at a real upstream.
            upstream = new MockOAuth2Server(new OAuth2Config(true));
            upstream.start(InetAddress.getLoopbackAddress(), issuer.getPort());
        }
        var client = config.clients().values().stream()
                .filter(c -> c.mode() == BrokerConfig.ClientMode.NATIVE)
                .findFirst()
                .orElseThrow();
        var web = config.clients().values().stream()
                .filter(c -> c.mode() == BrokerConfig.ClientMode.WEB)
                .findFirst()
                .orElseThrow();
        try (InputStream page = DevServices.class.getResourceAsStream("/devmode/login.html")) {
            loginPage = new String(page.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("__ISSUER__", issuer.toString())
                    .replace("__CLIENT_ID__", web.clientId());
        }
        LOG.info(walkthrough(
                "http://localhost:" + httpPort,
                "http://localhost:" + managementPort,
                issuer,
                client.clientId(),
                client.redirectUris().get(client.redirectUris().size() - 1),
                redisUri + (redis == null ? " (already running)" : " (" + redis + ")")));
    }

    /** The dev SPA at /dev/ (and /dev/callback, the native dev client's registered redirect). */
    void routes(@Observes Router router) {
        router.getWithRegex("/dev/(callback)?")
                .handler(ctx -> ctx.response()
                        .putHeader("Content-Type", "text/html; charset=utf-8")
                        .end(loginPage));
    }

    /** @param management the management interface: health, metrics (and the admin API when configured) */
    static String walkthrough(
            String broker, String management, URI issuer, String clientId, String redirectUri, String redis)
            throws NoSuchAlgorithmException {
        String challenge = Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(MessageDigest.getInstance("SHA-256")
                        .digest(EXAMPLE_VERIFIER.getBytes(StandardCharsets.US_ASCII)));
        String authorize = issuer + "/authorize?client_id=" + clientId + "&response_type=code&redirect_uri="
                + redirectUri + "&scope=openid+offline_access&state=dev&code_challenge=" + challenge
                + "&code_challenge_method=S256";
        return String.join(
                "\n",
                "",
                "token-broker dev mode",
                "  broker         " + broker + "  (POST /oauth2/token, POST /oauth2/revoke)",
                "  dev SPA        " + broker + "/dev/  (web mode: login form, user, access token, API call, logout;"
                        + " also at 127.0.0.1)",
                "  health         " + management + "/q/health  (the management port: health, metrics, OpenAPI and "
                        + "the admin API are not on " + broker + ")",
                "  Swagger UI     " + management + "/q/swagger-ui",
                "  metrics        " + management + "/q/metrics",
                "  dev upstream   " + issuer + "  (mock-oauth2-server; its login form takes any user name)",
                "  dev Redis      " + redis,
                "  dev client     " + clientId + " (secret: see %dev.broker.clients in application.properties)",
                "Walk-through (paste into a shell):",
                "  VERIFIER=" + EXAMPLE_VERIFIER,
                "  CODE=$(curl -s -o /dev/null -w '%{redirect_url}' -d username=dev '" + authorize
                        + "' | sed 's/.*code=\\([^&]*\\).*/\\1/')",
                "  HANDLE=$(curl -s -w '\\n' " + broker + "/oauth2/token -d grant_type=authorization_code -d client_id="
                        + clientId
                        + " -d code=\"$CODE\" -d redirect_uri=" + redirectUri
                        + " -d code_verifier=\"$VERIFIER\" | tee /dev/stderr"
                        + " | sed 's/.*\"refresh_token\":\"\\([^\"]*\\)\".*/\\1/')",
                "  curl -s -w '\\n' " + broker + "/oauth2/token -d grant_type=refresh_token -d client_id=" + clientId
                        + " -d refresh_token=\"$HANDLE\"",
                "  curl -si " + broker + "/oauth2/revoke -d client_id=" + clientId + " -d token=\"$HANDLE\"",
                "(curl posts the login form's user name; in a browser, open the authorize URL inside the CODE line,"
                        + " sign in, and the redirect carries the code.)",
                "(From a phone on your network: restart with -Dquarkus.http.host=0.0.0.0; see README, Quickstart.)",
                "");
    }

    @PreDestroy
    void stop() {
        if (upstream != null) {
            upstream.shutdown();
        }
        if (redis != null) {
            redis.close();
        }
    }
}
