package dev.tokenbroker.devmode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which Redis the dev mode and tests start, as a pure function of the platform (os.name, os.arch, files). */
class RedisServerPlatformTest {

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource({
        "Linux, amd64, redis-server-6.2.6-v5-linux-amd64",
        "Linux, x86_64, redis-server-6.2.6-v5-linux-amd64",
        "Linux, aarch64, redis-server-6.2.7-linux-arm64",
        "Linux, i386, redis-server-6.2.7-linux-386",
        "Mac OS X, aarch64, redis-server-6.2.6-v5-darwin-arm64",
        "Mac OS X, x86_64, redis-server-6.2.6-v5-darwin-amd64",
        "Windows 11, amd64, redis-server-5.0.14.1-windows-amd64.exe",
        "Windows Server 2022, amd64, redis-server-5.0.14.1-windows-amd64.exe"
    })
    void embeddedBinaryMatchesTheRunningPlatformAndIsShippedByTheArtifact(String os, String arch, String binary) {
        assertEquals(Optional.of(binary), RedisServer.embeddedBinary(os, arch));
        assertNotNull(
                RedisServer.class.getResource("/" + binary), binary + " is in com.github.codemonstur:embedded-redis");
    }

    @ParameterizedTest(name = "{0} {1}: none")
    @CsvSource({"Windows 11, aarch64", "Linux, ppc64le", "Linux, s390x", "FreeBSD, amd64", "Mac OS X, x86"})
    void platformsWithoutShippedBinaryGetNone(String os, String arch) {
        assertEquals(Optional.empty(), RedisServer.embeddedBinary(os, arch));
    }

    @Test
    void aProcessIsStartedWhereverABinaryExistsEvenWithADockerEngineRunning() {
        // A container would wait for images; CI runs a Docker engine with no registry to pull from (issue 21).
        assertTrue(RedisServer.processAvailable(), "this platform has a binary");
        try (RedisServer server = RedisServer.start()) {
            assertTrue(server.toString().startsWith("a redis-server process: "), server.toString());
            assertTrue(RedisServer.listening(server.port()));
        }
    }

    @Test
    void pathLookupTriesExeOnWindowsOnly() {
        assertEquals(
                List.of(Path.of("C:\\redis", "redis-server.exe"), Path.of("C:\\redis", "redis-server")),
                RedisServer.pathCandidates("C:\\redis;", ";", "Windows 10"));
        assertEquals(
                List.of(Path.of("/usr/bin", "redis-server"), Path.of("/opt/redis/bin", "redis-server")),
                RedisServer.pathCandidates("/usr/bin::/opt/redis/bin", ":", "Linux"));
    }

    @Test
    void dockerIsLookedForWhereTestcontainersLooks() {
        Path home = Path.of("/home/dev");
        Map<String, String> noEnv = Map.of();
        assertFalse(RedisServer.dockerMayBeReachable(noEnv, home, "Linux", p -> false));
        assertTrue(RedisServer.dockerMayBeReachable(
                Map.of("DOCKER_HOST", "tcp://docker:2375"), home, "Linux", p -> false));
        assertTrue(RedisServer.dockerMayBeReachable(
                noEnv, home, "Linux", Set.of(Path.of("/var/run/docker.sock"))::contains));
        assertTrue(
                RedisServer.dockerMayBeReachable(
                        noEnv, home, "Mac OS X", Set.of(home.resolve(".docker/run/docker.sock"))::contains),
                "Docker Desktop's default socket");
        assertTrue(
                RedisServer.dockerMayBeReachable(
                        noEnv, home, "Linux", Set.of(home.resolve(".docker/desktop/docker.sock"))::contains),
                "Docker Desktop on Linux");
        assertTrue(
                RedisServer.dockerMayBeReachable(
                        Map.of("XDG_RUNTIME_DIR", "/run/user/1000"),
                        home,
                        "Linux",
                        Set.of(Path.of("/run/user/1000/docker.sock"))::contains),
                "rootless Docker");
        assertTrue(RedisServer.dockerMayBeReachable(
                noEnv, home, "Linux", Set.of(home.resolve(".testcontainers.properties"))::contains));
        assertTrue(
                RedisServer.dockerMayBeReachable(
                        noEnv, home, "Windows 11", Set.of(Path.of("\\\\.\\pipe\\docker_engine"))::contains),
                "Docker Desktop's named pipe");
        assertFalse(RedisServer.dockerMayBeReachable(
                noEnv, home, "Windows 11", Set.of(Path.of("/var/run/docker.sock"))::contains));
    }
}
