package dev.tokenbroker.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The alerts the chart ships (helm/token-broker/files/prometheus-rules.yaml) through Prometheus' own tools:
 * {@code promtool check rules}, then {@code promtool test rules} with src/test/resources/prometheus/rules-test.yaml,
 * which gives every alert series that must fire it (with the exact labels and rendered annotations) and series that
 * must not. {@code PrometheusAlertsTest} evaluates the same rules against a running broker.
 */
class PrometheusRulesTest {

    static final String PROMTOOL = System.getProperty("promtool.binary", "/usr/bin/promtool");
    static final Path RULES = Path.of("helm", "token-broker", "files", "prometheus-rules.yaml");
    static final Path TESTS = Path.of("src", "test", "resources", "prometheus", "rules-test.yaml");

    @Test
    void rulesAreValid() throws Exception {
        String out = promtool("check", "rules", RULES.toString());
        assertTrue(out.contains("SUCCESS: 9 rules found"), out);
    }

    @Test
    void everyAlertFiresOnItsSeriesAndStaysQuietOnTheOthers() throws Exception {
        String out = promtool("test", "rules", TESTS.toString());
        assertTrue(out.contains("SUCCESS"), out);
    }

    private static String promtool(String... args) throws IOException, InterruptedException {
        assertTrue(
                new File(PROMTOOL).canExecute(),
                PROMTOOL + " is required: apt-get install -y prometheus (.ci/run does it)");
        List<String> command = new ArrayList<>(List.of(PROMTOOL));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
