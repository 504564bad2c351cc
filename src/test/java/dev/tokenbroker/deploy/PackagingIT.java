package dev.tokenbroker.deploy;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks the packaged application ({@code ./mvnw package} ran before this IT) and the container build files
 * against it. No Docker engine is needed: the Dockerfiles are read, not built.
 */
class PackagingIT {

    static final Path APP = Path.of("target", "quarkus-app");

    @Test
    void packagedAppCarriesNoDevOnlyLibrary() throws IOException {
        List<String> jars;
        try (Stream<Path> files = Files.walk(APP)) {
            jars = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".jar"))
                    .toList();
        }
        assertTrue(jars.stream().anyMatch(n -> n.contains("quarkus-rest")), "the scan sees the app's libraries");
        for (String devOnly : List.of("mock-oauth2-server", "embedded-redis", "testcontainers", "wiremock")) {
            assertTrue(jars.stream().noneMatch(n -> n.contains(devOnly)), devOnly + " must not be packaged: " + jars);
        }
    }

    @Test
    void jvmDockerfileCopiesTheBuiltLayoutAndRunsItsJarAsNonRoot() throws IOException {
        Dockerfile dockerfile = Dockerfile.read(Path.of("src", "main", "docker", "Dockerfile.jvm"));
        List<String> ignoreAllowList = dockerignoreAllowList();
        boolean runJarCopied = false;
        for (String[] copy : dockerfile.copies()) {
            String source = copy[0];
            assertTrue(matchesAny(source, ignoreAllowList), source + " is excluded by .dockerignore");
            List<Path> matches = glob(source);
            assertFalse(matches.isEmpty(), "COPY source " + source + " does not exist after ./mvnw package");
            String destination = copy[1];
            runJarCopied |= destination.equals("/deployments/")
                    && matches.stream().anyMatch(p -> p.getFileName().toString().equals("quarkus-run.jar"));
        }
        assertTrue(runJarCopied, "quarkus-run.jar is copied to /deployments/");
        assertTrue(Files.exists(APP.resolve("quarkus-run.jar")));
        assertTrue(dockerfile.last("ENTRYPOINT").contains("\"-jar\", \"/deployments/quarkus-run.jar\""));
        assertEquals("185:0", dockerfile.last("USER"));
        // The API and the management interface (health, metrics, admin API; built with quarkus.management.enabled).
        assertEquals("8080 9000", dockerfile.last("EXPOSE"));
    }

    @Test
    void docsShowTheContainerRecipesCodeVerbatim() throws IOException {
        String docs = Files.readString(Path.of("docs", "containers.md"));
        String source =
                Files.readString(Path.of("src", "test", "java", "dev", "tokenbroker", "deploy", "ContainerKitIT.java"));
        for (String tag : List.of("recipe", "flow")) {
            String region = ContainerKitIT.region(source, tag);
            assertTrue(
                    docs.contains(region), "docs/containers.md shows ContainerKitIT's " + tag + " region:\n" + region);
        }
    }

    private static List<String> dockerignoreAllowList() throws IOException {
        List<String> lines = Files.readAllLines(Path.of(".dockerignore"));
        assertTrue(lines.contains("*"), ".dockerignore excludes everything by default");
        return lines.stream()
                .filter(l -> l.startsWith("!"))
                .map(l -> l.substring(1))
                .toList();
    }

    /** Whether a COPY source lies inside one of the .dockerignore exceptions. */
    private static boolean matchesAny(String source, List<String> allowed) {
        String dir = source.endsWith("/") ? source : source + "/";
        return allowed.stream()
                .anyMatch(a ->
                        a.equals(source) || (a.endsWith("/*") && dir.startsWith(a.substring(0, a.length() - 1))));
    }

    private static List<Path> glob(String source) throws IOException {
        String pattern = source.endsWith("/") ? source.substring(0, source.length() - 1) : source;
        var matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern);
        try (Stream<Path> files = Files.walk(Path.of(pattern.substring(0, pattern.indexOf('/'))))) {
            return files.filter(matcher::matches).toList();
        }
    }
}
