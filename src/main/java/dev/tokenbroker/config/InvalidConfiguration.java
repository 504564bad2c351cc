package dev.tokenbroker.config;

import java.util.List;
import java.util.Set;

import io.quarkus.runtime.configuration.ConfigurationException;

/**
 * Configuration the broker cannot start with: one line per problem, each naming the property, what is wrong and how
 * to fix it. Quarkus prints a {@link ConfigurationException} that is the root cause of a failed start as plain text
 * on stderr (no JSON log line, no stack trace) and exits with 1, so this exception never has a cause.
 */
public final class InvalidConfiguration extends ConfigurationException {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public InvalidConfiguration(List<String> problems) {
        super(message(problems), Set.of());
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }

    static String message(List<String> problems) {
        return "token-broker cannot start: "
                + (problems.size() == 1 ? "1 configuration problem" : problems.size() + " configuration problems")
                + "\n  " + String.join("\n  ", problems);
    }
}
