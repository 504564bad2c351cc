package dev.tokenbroker.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Docker engine of the container tests, and the images they run. Without an engine those tests skip with one
 * line saying so, unless {@code TB_CONTAINERS_REQUIRED=1} (CI, {@code .ci/run}), which turns the skip into a failure:
 * a green CI always built and ran the image. Nothing is pulled when CI names local images: {@code TB_IMAGE_BASE} (a
 * JRE 17, Dockerfile.jvm's BASE), {@code TB_REDIS_IMAGE} and {@code TB_IDP_IMAGE} (mock-oauth2-server), built by
 * {@code src/main/docker/local-base.sh}; elsewhere the public images are pulled. Testcontainers pulls nothing of its
 * own either (the pom's failsafe settings): the tests remove what they start.
 */
public final class Docker {

    public static final String JRE_BASE = env("TB_IMAGE_BASE", "eclipse-temurin:17-jre");
    public static final String REDIS_IMAGE = env("TB_REDIS_IMAGE", "redis:7");
    /** mock-oauth2-server's published image, of the pom's version (failsafe passes it). */
    public static final String IDP_IMAGE = env(
            "TB_IDP_IMAGE",
            "ghcr.io/navikt/mock-oauth2-server:" + System.getProperty("tb.mock-oauth2-server.version", "2.3.0"));

    private Docker() {}

    /** Skips the calling test class when no engine answers, or fails it when CI requires one. */
    public static void assumeEngine(String what) {
        boolean available;
        try {
            available = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            available = false;
        }
        if (available) {
            return;
        }
        String reason = what + " need a Docker engine and none answers (DOCKER_HOST or /var/run/docker.sock)";
        if ("1".equals(System.getenv("TB_CONTAINERS_REQUIRED"))) {
            fail(reason + ", and TB_CONTAINERS_REQUIRED=1");
        }
        System.out.println("SKIPPED: " + reason);
        Assumptions.abort(reason);
    }

    /**
     * Builds the broker's image from {@code src/main/docker/Dockerfile.jvm} and the packaged application, exactly as
     * the README's command does, on {@link #JRE_BASE}.
     */
    public static void buildBrokerImage(String tag, String version) {
        run(
                "build",
                "-q",
                "-f",
                "src/main/docker/Dockerfile.jvm",
                "--build-arg",
                "BASE=" + JRE_BASE,
                "--build-arg",
                "VERSION=" + version,
                "--build-arg",
                "REVISION=test",
                "-t",
                tag,
                ".");
    }

    /** Runs the docker CLI and returns its standard output; fails the test with the output when it fails. */
    public static String run(String... args) {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        try {
            Path output = Files.createTempFile("docker-", ".out");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                fail("timed out: " + String.join(" ", command));
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            Files.delete(output);
            if (process.exitValue() != 0) {
                fail(String.join(" ", command) + " exited " + process.exitValue() + ":\n" + text);
            }
            return text.strip();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run docker", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
