package dev.tokenbroker.devmode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dev mode must not pick up a real upstream, client or Redis from the environment or a .env file (issue 11). */
class DevEnvironmentGuardTest {

    @Test
    void theShippedEnvExampleCopiedToEnvStopsDevMode() throws IOException {
        // .env.example keeps its design-card name (issue 21); the guard keeps a copy of it from rewiring dev mode.
        Set<String> names = Files.readAllLines(Path.of(".env.example")).stream()
                .filter(l -> l.matches("[A-Z0-9_]+=.*"))
                .map(l -> l.substring(0, l.indexOf('=')))
                .collect(Collectors.toSet());
        List<String> problems = DevEnvironmentGuard.rewiring(Map.of("EnvConfigSource[source=file:/app/.env]", names));
        for (String rewiring : List.of("BROKER_UPSTREAM_TOKEN_ENDPOINT", "BROKER_CLIENTS_CLOVER_CLIENT_SECRET")) {
            assertTrue(problems.contains(rewiring + " (from the .env file file:/app/.env)"), problems.toString());
        }
    }

    @Test
    void envFileCopiedFromTheProductionExampleStopsDevModeNamingEachSetting() {
        Map<String, Set<String>> sources = new LinkedHashMap<>();
        sources.put("EnvConfigSource", Set.of("PATH", "HOME", "JAVA_HOME"));
        sources.put(
                "EnvConfigSource[source=file:/work/token-broker/.env]",
                Set.of(
                        "BROKER_UPSTREAM_TOKEN_ENDPOINT", "BROKER_CLIENTS_CLOVER_CLIENT_SECRET",
                        "BROKER_SESSION_ENCRYPTION_KEYS_K1", "QUARKUS_REDIS_HOSTS"));
        sources.put(
                "PropertiesConfigSource[source=application.properties]",
                Set.of("%dev.broker.clients.dev.client-id", "%dev.quarkus.redis.hosts"));

        List<String> problems = DevEnvironmentGuard.rewiring(sources);

        assertEquals(
                List.of(
                        "BROKER_CLIENTS_CLOVER_CLIENT_SECRET (from the .env file file:/work/token-broker/.env)",
                        "BROKER_UPSTREAM_TOKEN_ENDPOINT (from the .env file file:/work/token-broker/.env)",
                        "QUARKUS_REDIS_HOSTS (from the .env file file:/work/token-broker/.env)"),
                problems);
        String message = DevEnvironmentGuard.message(problems);
        assertTrue(message.startsWith("Dev mode refuses to start"), message);
        assertTrue(message.contains("QUARKUS_REDIS_HOSTS"), message);
    }

    @Test
    void exportedVariablesStopDevModeToo() {
        assertEquals(
                List.of(
                        "BROKER_UPSTREAM_ISSUER (from the environment)",
                        "_DEV_QUARKUS_REDIS_HOSTS (from the environment)"),
                DevEnvironmentGuard.rewiring(Map.of(
                        "EnvConfigSource",
                        Set.of(
                                "BROKER_UPSTREAM_ISSUER",
                                "_DEV_QUARKUS_REDIS_HOSTS",
                                "BROKER_SESSION_ENCRYPTION_KEY_ID"))));
    }

    @Test
    void systemPropertiesAndApplicationPropertiesAreExplicitChoices() {
        assertEquals(
                List.of(),
                DevEnvironmentGuard.rewiring(Map.of(
                        "SysPropConfigSource", Set.of("broker.upstream.issuer", "quarkus.redis.hosts"),
                        "EnvConfigSource", Set.of("PATH", "BROKER_SESSION_ENCRYPTION_KEYS_K1"))));
    }
}
