package dev.tokenbroker.config;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** How configuration problems are gathered and shown (issue 11 item 3). */
class ConfigurationCheckTest {

    @Test
    void problemsAreOneLineEachUnderAHeadline() {
        InvalidConfiguration e =
                new InvalidConfiguration(List.of("broker.a is wrong: fix a", "broker.b is wrong: fix b"));
        assertEquals(
                "token-broker cannot start: 2 configuration problems\n  broker.a is wrong: fix a\n  broker.b is wrong: fix b",
                e.getMessage());
        assertEquals(null, e.getCause(), "Quarkus prints a cause-less ConfigurationException plainly");
    }

    @Test
    void configurationProblemsAreFoundInsideWrappingExceptions() {
        RuntimeException wrapped = new RuntimeException(
                "creation failed",
                new IllegalArgumentException("broker.clients.x.redirect-uris: bad\nbroker.clients.y.client-id: bad"));
        assertEquals(
                Optional.of(List.of("broker.clients.x.redirect-uris: bad", "broker.clients.y.client-id: bad")),
                ConfigurationCheck.problemsOf(wrapped));
        assertFalse(
                ConfigurationCheck.problemsOf(new IllegalArgumentException("not about configuration"))
                        .isPresent(),
                "other failures keep their stack trace");
    }
}
