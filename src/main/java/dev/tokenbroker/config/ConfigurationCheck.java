package dev.tokenbroker.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.runtime.Startup;

/**
 * Checks the bounds of numbers and durations ({@link ConfigBounds}), the schemes of upstream and admin URLs
 * ({@link SecureUrls}) and how the upstream is reached ({@link UpstreamConnectivity}), builds the beans that check configuration ({@link CheckedAtStartup}: clients, key ring,
 * trusted proxies) before anything else starts, and reports all their problems at once, one line
 * each, as an {@link InvalidConfiguration}; the beans themselves throw {@link IllegalArgumentException}s naming the
 * property (one line per problem).
 */
@Startup(10)
@Singleton
public class ConfigurationCheck {

    ConfigurationCheck(
            BrokerConfig config,
            @ConfigProperty(name = "quarkus.shutdown.timeout") Duration shutdownTimeout,
            @ConfigProperty(name = "quarkus.redis.timeout", defaultValue = "10s") Duration redisTimeout,
            @CheckedAtStartup Instance<Object> checked) {
        List<String> problems = new ArrayList<>(ConfigBounds.problems(config, shutdownTimeout, redisTimeout));
        problems.addAll(SecureUrls.problems(config));
        try {
            List<ConfiguredUpstream> upstreams = ConfiguredUpstream.all(config);
            upstreams.forEach(upstream -> problems.addAll(UpstreamConnectivity.problems(upstream)));
            problems.addAll(ConfiguredUpstream.sharedIssuers(upstreams));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        for (Instance.Handle<Object> bean : checked.handles()) {
            collect(problems, bean::get);
        }
        if (!problems.isEmpty()) {
            throw new InvalidConfiguration(problems);
        }
    }

    private static void collect(List<String> problems, Supplier<?> bean) {
        try {
            // A client proxy is created lazily: toString() makes it build the bean.
            var unused = bean.get().toString();
        } catch (RuntimeException e) {
            problems.addAll(problemsOf(e).orElseThrow(() -> e));
        }
    }

    /** The configuration problems an exception (or one of its causes) reports, if it is about configuration. */
    static java.util.Optional<List<String>> problemsOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InvalidConfiguration invalid) {
                return java.util.Optional.of(invalid.problems());
            }
            if (t instanceof IllegalArgumentException
                    && t.getMessage() != null
                    && t.getMessage().startsWith("broker.")) {
                return java.util.Optional.of(List.of(t.getMessage().split("\n")));
            }
        }
        return java.util.Optional.empty();
    }
}
