package dev.tokenbroker.deploy;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.jose4j.json.internal.json_simple.JSONObject;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

import com.github.dockerjava.api.command.InspectContainerResponse;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Docker;
import dev.tokenbroker.upstream.LogoutTokens;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker's image, built from {@code src/main/docker/Dockerfile.jvm} as users build it, run as users run it: read-only
 * root filesystem with {@code /tmp} as tmpfs, 256 MB of memory, a Redis container and an OpenID provider container
 * (mock-oauth2-server) on one Docker network. The broker accepts plain http to its upstream only
 * on loopback, so it joins the provider's network namespace, as a sidecar in a Kubernetes pod does: the provider
 * container publishes the broker's ports too. Prints the image's size, start-to-ready times with and without its
 * AppCDS archive, and the memory a refresh load took.
 */
class ContainerIT {

    static final String IMAGE = "token-broker:it";
    static final String ISSUER = "http://localhost:8081/default";
    static final String REDIRECT = Broker.MOBILE_REDIRECT;

    static Network network;
    static GenericContainer<?> redis;
    /** The OpenID provider; owns the network namespace the broker joins, and publishes 8080, 9000 and 8081. */
    static GenericContainer<?> upstream;
    /** The provider's signing key, handed to it at start, so that this test can sign its logout tokens. */
    static RsaJsonWebKey upstreamKey;

    @BeforeAll
    static void buildAndStart() throws Exception {
        Docker.assumeEngine("the container tests (ContainerIT)");
        String version = System.getProperty("tb.version", "dev");
        Docker.buildBrokerImage(IMAGE, version);
        System.out.printf(
                "ContainerIT: image %s on %s: %d MB%n",
                IMAGE, Docker.JRE_BASE, Long.parseLong(Docker.run("image", "inspect", "-f", "{{.Size}}", IMAGE)) >> 20);
        network = Network.newNetwork();
        redis = new GenericContainer<>(Docker.REDIS_IMAGE)
                .withNetwork(network)
                .withNetworkAliases("redis")
                .withCommand("redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no")
                .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));
        redis.start();
        upstreamKey = RsaJwkGenerator.generateJwk(2048);
        // mock-oauth2-server publishes an issuer's key under the issuer's id.
        upstreamKey.setKeyId("default");
        upstream = new GenericContainer<>(Docker.IDP_IMAGE)
                .withNetwork(network)
                .withEnv("SERVER_PORT", "8081")
                .withEnv("JSON_CONFIG", providerConfig())
                .withExposedPorts(8080, 9000, 8081)
                .waitingFor(Wait.forHttp("/default/.well-known/openid-configuration")
                        .forPort(8081)
                        .withStartupTimeout(Duration.ofMinutes(2)));
        upstream.start();
    }

    @AfterAll
    static void stop() {
        for (GenericContainer<?> c : new GenericContainer<?>[] {upstream, redis}) {
            if (c != null) {
                c.stop();
            }
        }
        if (network != null) {
            network.close();
        }
    }

    @Test
    void signInRefreshRevokeAndBackChannelLogoutThroughTheImage() throws Exception {
        try (GenericContainer<?> broker = startBroker(true)) {
            InspectContainerResponse inspected = inspect(broker);
            assertTrue(inspected.getHostConfig().getReadonlyRootfs(), "read-only root filesystem");
            assertEquals("185:0", inspected.getConfig().getUser());

            String first = signIn("sid-" + UUID.randomUUID());
            String second = refresh(first)
                    .statusCode(200)
                    .body("access_token", notNullValue())
                    .extract()
                    .path("refresh_token");
            assertNotEquals(first, second, "the handle rotates");
            // Within the reuse window (5 s) the same answer again, as a retry after a lost answer gets it.
            String third = refresh(second).statusCode(200).extract().path("refresh_token");
            api().formParams(Broker.params("client_id", Broker.MOBILE, "token", third))
                    .post("/oauth2/revoke")
                    .then()
                    .statusCode(200);
            refresh(third).statusCode(400).body("error", equalTo("invalid_grant"));

            String sid = "sid-" + UUID.randomUUID();
            String loggedOut = signIn(sid);
            String other = signIn("sid-" + UUID.randomUUID());
            int logout = api().formParam("logout_token", logoutToken(sid))
                    .post("/oidc/backchannel-logout")
                    .statusCode();
            assertEquals(200, logout, () -> broker.getLogs());
            refresh(loggedOut).statusCode(400).body("error", equalTo("invalid_grant"));
            refresh(other).statusCode(200);

            given().get(managementUrl() + "/q/health/live").then().statusCode(200);
            given().get(managementUrl() + "/q/health/ready")
                    .then()
                    .statusCode(200)
                    .body("status", equalTo("UP"));
            given().get(apiUrl() + "/q/health/ready").then().statusCode(not(200));
        }
    }

    @Test
    void aRefreshLoadIn256MegabytesNeverKillsTheBrokerNorAnswers5xx() throws Exception {
        int sessions = 16;
        int refreshesEach = 200;
        try (GenericContainer<?> broker = startBroker(true)) {
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(sessions);
            List<Future<?>> done = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            for (int s = 0; s < sessions; s++) {
                String start = signIn("sid-" + UUID.randomUUID());
                done.add(pool.submit(() -> {
                    String handle = start;
                    for (int i = 0; i < refreshesEach && System.nanoTime() < deadline; i++) {
                        var response = refresh(handle).extract();
                        statuses.computeIfAbsent(response.statusCode(), k -> new AtomicInteger())
                                .incrementAndGet();
                        if (response.statusCode() == 200) {
                            handle = response.path("refresh_token");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(4, TimeUnit.MINUTES);
            }
            pool.shutdown();
            InspectContainerResponse state = inspect(broker);
            // The container's peak memory: cgroup v2's memory.peak, or v1's max_usage_in_bytes.
            long peak = Long.parseLong(
                    Docker.run(
                            "exec",
                            broker.getContainerId(),
                            "sh",
                            "-c",
                            "cat /sys/fs/cgroup/memory.peak 2>/dev/null || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes"));
            System.out.printf(
                    "ContainerIT: %d refreshes in a 256 MB container: statuses %s, peak memory %d MB, OOM-killed %s%n",
                    sessions * refreshesEach,
                    statuses,
                    peak >> 20,
                    state.getState().getOOMKilled());
            assertTrue(System.nanoTime() < deadline, "the load ran out of its 3 minutes");
            assertFalse(state.getState().getOOMKilled(), "OOM-killed");
            assertTrue(state.getState().getRunning(), "still running");
            assertEquals(Map.of(200, sessions * refreshesEach), toCounts(statuses), "every refresh answered 200");
        }
    }

    @Test
    void dockerStopLetsARefreshInFlightFinishAndItsSessionLivesOn() throws Exception {
        String next;
        try (GenericContainer<?> broker = startBroker(true)) {
            String handle = signIn("sid-" + UUID.randomUUID());
            // The provider paused: the refresh waits for its answer inside the broker (read timeout 10 s) while
            // docker stop sends SIGTERM, and past the 5 s shutdown delay, when the broker only drains.
            Docker.run("pause", upstream.getContainerId());
            CompletableFuture<Void> stopped;
            CompletableFuture<ValidatableResponse> inFlight;
            try {
                inFlight = CompletableFuture.supplyAsync(() -> refresh(handle));
                // Nothing outside the broker shows the refresh has arrived; half a second on loopback is ample.
                TimeUnit.MILLISECONDS.sleep(500);
                stopped = CompletableFuture.runAsync(() -> Docker.run("stop", "--time", "45", broker.getContainerId()));
                Await.until(
                        "the broker is past its 5 s shutdown delay (new requests get 503)",
                        Duration.ofSeconds(30),
                        () -> refresh("a-new-request-while-draining").extract().statusCode() == 503);
                assertFalse(inFlight.isDone(), "the refresh is still in flight after SIGTERM and the delay");
                refresh("a-new-request-while-draining").statusCode(503);
            } finally {
                Docker.run("unpause", upstream.getContainerId());
            }
            next = inFlight.get(40, TimeUnit.SECONDS).statusCode(200).extract().path("refresh_token");
            stopped.get(60, TimeUnit.SECONDS);
            InspectContainerResponse state = inspect(broker);
            assertFalse(state.getState().getRunning());
            assertNotEquals(137L, state.getState().getExitCodeLong(), "stopped by SIGTERM, not killed");
        }
        try (GenericContainer<?> again = startBroker(true)) {
            refresh(next).statusCode(200);
        }
    }

    @Test
    void theAppCdsArchiveIsMappedAndItsStartTimeIsPrinted() {
        List<Long> with = new ArrayList<>();
        List<Long> without = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            with.add(timeToReady(true));
            without.add(timeToReady(false));
        }
        System.out.printf(
                "ContainerIT: start to ready (container create to /q/health/ready 200, median of 3): with AppCDS %d ms,"
                        + " without %d ms; each run with: %s, without: %s%n",
                median(with), median(without), with, without);
    }

    @Test
    void theImageCarriesItsLabelsAndSbomAndNoSecret() throws Exception {
        String labels = Docker.run("image", "inspect", "-f", "{{json .Config.Labels}}", IMAGE);
        assertTrue(
                labels.contains(
                        "\"org.opencontainers.image.version\":\"" + System.getProperty("tb.version", "dev") + "\""),
                labels);
        for (String label : List.of("revision", "source", "licenses", "title")) {
            assertTrue(labels.contains("org.opencontainers.image." + label), label + " in " + labels);
        }
        String sbom =
                Docker.run("run", "--rm", "--entrypoint", "cat", IMAGE, "/deployments/sbom/token-broker.cdx.json");
        assertTrue(sbom.contains("\"bomFormat\" : \"CycloneDX\"") || sbom.contains("\"bomFormat\":\"CycloneDX\""));
        assertTrue(sbom.contains("quarkus-rest"), "the SBOM lists the application's libraries");
        String env = Docker.run("image", "inspect", "-f", "{{json .Config.Env}}", IMAGE);
        assertFalse(
                env.matches("(?i).*(secret|password|key_id|keys_).*"), "no secret in the image's environment: " + env);
        String history = Docker.run("image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", IMAGE);
        assertFalse(history.contains("ENCRYPTION_KEYS"), "no secret in a layer's command");
    }

    /** Starts the broker in the provider's namespace and waits until it is ready; with or without AppCDS. */
    private static GenericContainer<?> startBroker(boolean appCds) {
        GenericContainer<?> broker = brokerContainer(appCds);
        broker.start();
        Await.until("the broker is ready", Duration.ofMinutes(1), ContainerIT::ready);
        return broker;
    }

    private static GenericContainer<?> brokerContainer(boolean appCds) {
        Map<String, String> env = new HashMap<>();
        env.put("BROKER_UPSTREAM_ISSUER", ISSUER);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", Broker.MOBILE);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "container-secret");
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", REDIRECT);
        env.put("BROKER_SESSION_ENCRYPTION_KEYS_K1", Base64.getEncoder().encodeToString(new byte[32]));
        env.put("BROKER_SESSION_ENCRYPTION_KEY_ID", "k1");
        env.put("QUARKUS_REDIS_HOSTS", "redis://redis:6379");
        if (appCds) {
            // The JVM refuses to start unless it maps the archive, so it is valid for this image's JVM and jar (a
            // stale one would be skipped silently, and the start-up time it saves lost).
            env.put("JAVA_TOOL_OPTIONS", "-Xshare:on");
        }
        GenericContainer<?> broker = new GenericContainer<>(IMAGE)
                .withNetworkMode("container:" + upstream.getContainerId())
                .withEnv(env)
                .withTmpFs(Map.of("/tmp", "rw,size=64m"))
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.getHostConfig()
                            .withReadonlyRootfs(true)
                            .withMemory(256L << 20)
                            .withMemorySwap(256L << 20);
                    if (!appCds) {
                        cmd.withEntrypoint(
                                "java",
                                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                                "-jar",
                                "/deployments/quarkus-run.jar");
                    }
                });
        return broker;
    }

    private static long timeToReady(boolean appCds) {
        GenericContainer<?> broker = brokerContainer(appCds);
        long start = System.nanoTime();
        broker.start();
        try {
            Await.until("the broker is ready", Duration.ofMinutes(1), ContainerIT::ready);
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        } finally {
            broker.stop();
        }
    }

    private static boolean ready() {
        try {
            return given().get(managementUrl() + "/q/health/ready").statusCode() == 200;
        } catch (Exception connectionRefusedOrReset) {
            return false;
        }
    }

    /** A front end's sign-in: the provider's login form (with an {@code sid} claim), then the code at the broker. */
    private static String signIn(String sid) throws Exception {
        String challenge = Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(MessageDigest.getInstance("SHA-256")
                        .digest(Broker.VERIFIER.getBytes(StandardCharsets.US_ASCII)));
        String location = given().redirects()
                .follow(false)
                .contentType(ContentType.URLENC)
                .formParam("username", "user-" + sid)
                .formParam("claims", "{\"sid\":\"" + sid + "\"}")
                .queryParam("client_id", Broker.MOBILE)
                .queryParam("response_type", "code")
                .queryParam("redirect_uri", REDIRECT)
                .queryParam("scope", "openid offline_access")
                .queryParam("state", "s")
                .queryParam("code_challenge", challenge)
                .queryParam("code_challenge_method", "S256")
                .post("http://localhost:" + upstream.getMappedPort(8081) + "/default/authorize")
                .then()
                .statusCode(302)
                .extract()
                .header("Location");
        String code = null;
        for (String pair : URI.create(location).getRawQuery().split("&")) {
            if (pair.startsWith("code=")) {
                code = URLDecoder.decode(pair.substring(5), StandardCharsets.UTF_8);
            }
        }
        return api().formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        Broker.MOBILE,
                        "code",
                        code,
                        "redirect_uri",
                        REDIRECT,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    private static ValidatableResponse refresh(String handle) {
        return api().formParams(Broker.params(
                        "grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle))
                .post("/oauth2/token")
                .then();
    }

    private static io.restassured.specification.RequestSpecification api() {
        return given().baseUri(apiUrl()).contentType(ContentType.URLENC);
    }

    private static String apiUrl() {
        return "http://localhost:" + upstream.getMappedPort(8080);
    }

    private static String managementUrl() {
        return "http://localhost:" + upstream.getMappedPort(9000);
    }

    /** A logout token as the provider's back-channel logout sends it, signed with the provider's key. */
    private static String logoutToken(String sid) throws Exception {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(ISSUER);
        claims.setAudience(Broker.MOBILE);
        claims.setIssuedAtToNow();
        claims.setExpirationTimeMinutesInTheFuture(2);
        claims.setGeneratedJwtId();
        claims.setClaim("sid", sid);
        claims.setClaim("events", Map.of(LogoutTokens.EVENT, Map.of()));
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(upstreamKey.getPrivateKey());
        jws.setKeyIdHeaderValue(upstreamKey.getKeyId());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        jws.setHeader("typ", "logout+jwt");
        return jws.getCompactSerialization();
    }

    /** mock-oauth2-server's JSON_CONFIG: its login form, and {@link #upstreamKey} as its signing key. */
    private static String providerConfig() {
        Map<String, Object> keyProvider = Map.of(
                "initialKeys", upstreamKey.toJson(JsonWebKey.OutputControlLevel.INCLUDE_PRIVATE), "algorithm", "RS256");
        return JSONObject.toJSONString(
                Map.of("interactiveLogin", true, "tokenProvider", Map.of("keyProvider", keyProvider)));
    }

    private static InspectContainerResponse inspect(GenericContainer<?> container) {
        return container
                .getDockerClient()
                .inspectContainerCmd(container.getContainerId())
                .exec();
    }

    private static Map<Integer, Integer> toCounts(Map<Integer, AtomicInteger> statuses) {
        Map<Integer, Integer> counts = new HashMap<>();
        statuses.forEach((status, n) -> counts.put(status, n.get()));
        return counts;
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }
}
