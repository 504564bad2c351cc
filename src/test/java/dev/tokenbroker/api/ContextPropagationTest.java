package dev.tokenbroker.api;

import java.util.function.Function;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Mutiny passes every callback of every {@code Uni} to SmallRye Context Propagation, which wraps it to capture and
 * restore each registered context. The broker propagates none (application.properties), so callbacks must come back
 * unwrapped: an extension that registers a context of its own (OpenTelemetry did) cost a refresh 25–35 µs of CPU.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class ContextPropagationTest {

    @Test
    void mutinyCallbacksAreNotWrapped() {
        Function<Object, Object> function = item -> item;
        Supplier<Object> supplier = () -> "item";
        assertSame(function, Infrastructure.decorate(function), "a Function is wrapped to propagate a context");
        assertSame(supplier, Infrastructure.decorate(supplier), "a Supplier is wrapped to propagate a context");
    }
}
