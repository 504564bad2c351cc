package dev.tokenbroker.devmode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Dev mode brings its own upstream, client and Redis. Settings for a real upstream, real clients or another Redis
 * that arrive through environment variables or a {@code .env} file (which Quarkus reads in dev mode too) would mix
 * the two: the browser logs in at the dev upstream while codes, and the real client secret, go to the real one.
 * Such settings stop dev mode with a message that names them; {@code -D} and {@code application.properties} are
 * explicit choices and stay allowed.
 */
final class DevEnvironmentGuard {

    /** Environment-style prefixes of the settings that would rewire dev mode. */
    private static final List<String> REWIRING = List.of("BROKER_UPSTREAM_", "BROKER_CLIENTS_", "QUARKUS_REDIS_");

    private DevEnvironmentGuard() {}

    /** Fails when the environment or a .env file rewires dev mode. */
    static void check(Config config) {
        Map<String, Set<String>> found = new java.util.LinkedHashMap<>();
        for (ConfigSource source : config.getConfigSources()) {
            found.put(source.getName(), source.getPropertyNames());
        }
        List<String> problems = rewiring(found);
        if (!problems.isEmpty()) {
            throw new IllegalStateException(message(problems));
        }
    }

    /**
     * The rewiring settings per environment-like source (environment variables, {@code .env} files), as
     * {@code NAME (from source)}; sources are given by name with their property names.
     */
    static List<String> rewiring(Map<String, Set<String>> sources) {
        List<String> problems = new ArrayList<>();
        sources.forEach((sourceName, names) -> {
            if (!sourceName.startsWith("EnvConfigSource")) {
                return;
            }
            String from = sourceName.contains("[source=")
                    ? "the .env file "
                            + sourceName.substring(sourceName.indexOf("[source=") + 8, sourceName.length() - 1)
                    : "the environment";
            new TreeSet<>(names)
                    .stream()
                            .filter(DevEnvironmentGuard::rewires)
                            .forEach(name -> problems.add(name + " (from " + from + ")"));
        });
        return problems;
    }

    private static boolean rewires(String name) {
        String env = name.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
        for (String profile : List.of("_DEV_", "__DEV_")) {
            if (env.startsWith(profile)) {
                env = env.substring(profile.length());
            }
        }
        String normalised = env;
        return REWIRING.stream().anyMatch(normalised::startsWith);
    }

    static String message(List<String> problems) {
        return String.join(
                "\n",
                List.of(
                        "Dev mode refuses to start: these settings would mix a real upstream, client or Redis into dev mode,",
                        "which runs its own (codes from the dev login would be sent, with the real client secret, elsewhere):",
                        "  " + String.join("\n  ", problems),
                        "Unset them (or move the .env file away) for ./mvnw quarkus:dev. To run against a real upstream, build",
                        "with ./mvnw package -DskipTests and start target/quarkus-app/quarkus-run.jar with them (README: Against a real upstream)."));
    }
}
