package dev.tokenbroker.deploy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Docker;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kit for app teams (docs/containers.md): the Testcontainers recipe, whose code the docs show verbatim (the
 * regions between the {@code tag::} comments), and the compose file {@code src/main/docker/compose.yaml}, each signing
 * in, refreshing and revoking against the broker's image as an app's own CI would.
 */
class ContainerKitIT {

    static final String BROKER_IMAGE = "token-broker:it";
    static final String REDIS_IMAGE = Docker.REDIS_IMAGE;
    static final String IDP_IMAGE = Docker.IDP_IMAGE;

    @BeforeAll
    static void buildImage() {
        Docker.assumeEngine("the container kit tests (ContainerKitIT)");
        Docker.buildBrokerImage(BROKER_IMAGE, System.getProperty("tb.version", "dev"));
    }

    @Test
    void theTestcontainersRecipeSignsInRefreshesAndRevokes() {
        // tag::recipe[]
        try (Network network = Network.newNetwork();
                GenericContainer<?> redis = new GenericContainer<>(REDIS_IMAGE)
                        .withNetwork(network)
                        .withNetworkAliases("redis")
                        .withCommand("redis-server", "--protected-mode", "no");
                // The dev OpenID provider; its login form takes any user name. The broker sends secrets over https or
                // to loopback only, so it joins this container's network namespace: this one publishes its ports too.
                GenericContainer<?> idp = new GenericContainer<>(IDP_IMAGE)
                        .withNetwork(network)
                        .withEnv("SERVER_PORT", "8081")
                        .withEnv("JSON_CONFIG", "{\"interactiveLogin\": true}")
                        .withExposedPorts(8080, 9000, 8081)
                        .waitingFor(Wait.forHttp("/default/.well-known/openid-configuration")
                                .forPort(8081))) {
            redis.start();
            idp.start();
            try (GenericContainer<?> broker = new GenericContainer<>(BROKER_IMAGE)
                    .withNetworkMode("container:" + idp.getContainerId())
                    .withEnv(Map.of(
                            "BROKER_UPSTREAM_ISSUER", "http://localhost:8081/default",
                            "BROKER_CLIENTS_APP_CLIENT_ID", "app",
                            "BROKER_CLIENTS_APP_CLIENT_SECRET", "app-secret",
                            "BROKER_CLIENTS_APP_REDIRECT_URIS", "app://callback",
                            "BROKER_SESSION_ENCRYPTION_KEYS_K1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                            "QUARKUS_REDIS_HOSTS", "redis://redis:6379"))
                    .withTmpFs(Map.of("/tmp", "rw"))) {
                broker.start();
                Wait.forHttp("/q/health/ready").forPort(9000).waitUntilReady(idp);
                String brokerUrl = "http://" + idp.getHost() + ":" + idp.getMappedPort(8080);
                String authorizeUrl = "http://" + idp.getHost() + ":" + idp.getMappedPort(8081) + "/default/authorize";
                // Your app's tests against brokerUrl, for example:
                signInRefreshAndRevoke(brokerUrl, authorizeUrl);
            }
        }
        // end::recipe[]
    }

    @Test
    void theComposeKitSignsInRefreshesAndRevokes() {
        List<String> compose = composeCommand();
        List<String> project = new ArrayList<>(compose);
        project.addAll(List.of("-p", "tb-kit-it", "-f", "src/main/docker/compose.yaml"));
        Map<String, String> images =
                Map.of("BROKER_IMAGE", BROKER_IMAGE, "IDP_IMAGE", IDP_IMAGE, "REDIS_IMAGE", REDIS_IMAGE);
        try {
            run(project, images, "up", "-d");
            Await.until("the compose kit's broker is ready", Duration.ofMinutes(1), () -> {
                try {
                    return given().get("http://localhost:9000/q/health/ready").statusCode() == 200;
                } catch (Exception notYet) {
                    return false;
                }
            });
            signInRefreshAndRevoke("http://localhost:8080", "http://localhost:8081/default/authorize");
        } finally {
            run(project, images, "down", "--timeout", "45");
        }
    }

    // tag::flow[]
    /** Signs in at the provider's login form, redeems the code at the broker, refreshes, revokes. */
    static void signInRefreshAndRevoke(String brokerUrl, String authorizeUrl) {
        // PKCE: the verifier and S256 challenge of RFC 7636, appendix B.
        String verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        String location = given().redirects()
                .follow(false)
                .formParam("username", "alice")
                .queryParam("client_id", "app")
                .queryParam("response_type", "code")
                .queryParam("redirect_uri", "app://callback")
                .queryParam("scope", "openid offline_access")
                .queryParam("state", "s1")
                .queryParam("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
                .queryParam("code_challenge_method", "S256")
                .post(authorizeUrl)
                .then()
                .statusCode(302)
                .extract()
                .header("Location");
        String code = location.replaceAll(".*[?&]code=([^&]+).*", "$1");
        String handle = given().formParams(
                        "grant_type", "authorization_code",
                        "client_id", "app",
                        "code", code,
                        "redirect_uri", "app://callback",
                        "code_verifier", verifier)
                .post(brokerUrl + "/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String next = given().formParams("grant_type", "refresh_token", "client_id", "app", "refresh_token", handle)
                .post(brokerUrl + "/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
        given().formParams("client_id", "app", "token", next)
                .post(brokerUrl + "/oauth2/revoke")
                .then()
                .statusCode(200);
        given().formParams("grant_type", "refresh_token", "client_id", "app", "refresh_token", next)
                .post(brokerUrl + "/oauth2/token")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_grant"));
    }
    // end::flow[]

    /** The lines between {@code // tag::NAME[]} and {@code // end::NAME[]}, without their common indentation. */
    static String region(String source, String tag) {
        String start = "// tag::" + tag + "[]\n";
        int from = source.indexOf(start) + start.length();
        int to = source.lastIndexOf("\n", source.indexOf("// end::" + tag + "[]"));
        return source.substring(from, to).stripIndent();
    }

    /** {@code docker compose} (the v2 plugin) where the CLI has it, else {@code docker-compose} (Debian's v1). */
    private static List<String> composeCommand() {
        try {
            Docker.run("compose", "version");
            return List.of("docker", "compose");
        } catch (AssertionError noPlugin) {
            return List.of("docker-compose");
        }
    }

    private static void run(List<String> command, Map<String, String> env, String... args) {
        List<String> all = new ArrayList<>(command);
        all.addAll(List.of(args));
        try {
            ProcessBuilder builder = new ProcessBuilder(all).redirectErrorStream(true);
            builder.environment().putAll(env);
            Process process = builder.start();
            String output = new String(process.getInputStream().readAllBytes());
            assertEquals(0, process.waitFor(), String.join(" ", all) + ":\n" + output);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + all, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
