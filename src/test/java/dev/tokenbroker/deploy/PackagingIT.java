package dev.tokenbroker.deploy;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
        assertEquals("/deployments/quarkus-run.jar", dockerfile.env("JAVA_APP_JAR"));
        assertTrue(Files.exists(APP.resolve("quarkus-run.jar")));
        assertEquals("185", dockerfile.last("USER"));
        assertTrue(dockerfile.last("ENTRYPOINT").contains("run-java.sh"));
        // The API and the management interface (health, metrics, admin API; built with quarkus.management.enabled).
        assertEquals("8080 9000", dockerfile.last("EXPOSE"));
    }

    @Test
    void nativeDockerfileRunsTheRunnerItCopies() throws IOException {
        Dockerfile dockerfile = Dockerfile.read(Path.of("src", "main", "docker", "Dockerfile.native"));
        List<String[]> copies = dockerfile.copies();
        assertEquals(1, copies.size());
        assertEquals("target/*-runner", copies.get(0)[0]);
        assertTrue(matchesAny("target/*-runner", dockerignoreAllowList()));
        assertEquals("/work/application", copies.get(0)[1]);
        assertEquals("/work/", dockerfile.last("WORKDIR"));
        assertTrue(dockerfile.last("ENTRYPOINT").contains("\"./application\""));
        assertFalse(
                dockerfile.last("USER").equals("0") || dockerfile.last("USER").equals("root"));
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

    /** The few Dockerfile instructions these checks need; continuation lines are joined. */
    record Dockerfile(List<String[]> instructions) {

        static Dockerfile read(Path path) throws IOException {
            List<String[]> instructions = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            for (String line : Files.readAllLines(path)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                current.append(line.strip());
                if (line.endsWith("\\")) {
                    current.setLength(current.length() - 1);
                    continue;
                }
                String text = current.toString();
                current.setLength(0);
                int space = text.indexOf(' ');
                instructions.add(new String[] {
                    text.substring(0, space), text.substring(space + 1).strip()
                });
            }
            return new Dockerfile(instructions);
        }

        /** COPY source and destination, flags dropped (single source per COPY, as in our files). */
        List<String[]> copies() {
            return instructions.stream()
                    .filter(i -> i[0].equals("COPY"))
                    .map(i -> {
                        List<String> args = Stream.of(i[1].split("\\s+"))
                                .filter(a -> !a.startsWith("--"))
                                .toList();
                        assertEquals(2, args.size(), "one source per COPY: " + i[1]);
                        return new String[] {args.get(0), args.get(1)};
                    })
                    .toList();
        }

        String last(String instruction) {
            String value = null;
            for (String[] i : instructions) {
                if (i[0].equals(instruction)) {
                    value = i[1];
                }
            }
            return value;
        }

        String env(String name) {
            String value = null;
            for (String[] i : instructions) {
                if (i[0].equals("ENV") && i[1].startsWith(name + "=")) {
                    value = i[1].substring(name.length() + 1).replace("\"", "");
                }
            }
            return value;
        }
    }
}
