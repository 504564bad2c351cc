package dev.tokenbroker.config;

import java.util.regex.Pattern;

import jakarta.annotation.Priority;

import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.Expressions;
import io.smallrye.config.Priorities;

/**
 * Client secrets (and the key stores' and upstream proxies' passwords) are read exactly as written, from every source ({@code -D}, environment variables, the Helm
 * chart's Secret, {@code application.properties}): RFC 6749 Appendix A allows any printable ASCII in a secret, so
 * {@code $}, {@code $$} and {@code ${…}} are characters of the secret, not configuration expressions. Runs before
 * SmallRye Config's expression interceptor (priority 3300) and switches expansion off for these properties only.
 * Registered through {@code META-INF/services/io.smallrye.config.ConfigSourceInterceptor}.
 */
@Priority(Priorities.APPLICATION)
public class VerbatimSecrets implements ConfigSourceInterceptor {

    private static final Pattern CLIENT_SECRET =
            Pattern.compile("broker\\.clients\\.(\"[^\"]+\"|[^.]+)\\.(client-secret|private-keys-password)");

    /** The upstream proxies' passwords, likewise. */
    private static final Pattern PROXY_PASSWORD =
            Pattern.compile("broker\\.(upstream|upstreams\\.(\"[^\"]+\"|[^.]+))\\.proxy\\.password");

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        if (CLIENT_SECRET.matcher(name).matches()
                || PROXY_PASSWORD.matcher(name).matches()) {
            return Expressions.withoutExpansion(() -> context.proceed(name));
        }
        return context.proceed(name);
    }
}
