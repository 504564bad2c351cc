package dev.tokenbroker.api.http;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.spi.Bean;
import jakarta.enterprise.inject.spi.BeanManager;
import jakarta.inject.Singleton;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;

/**
 * The {@code Allow} header of a 405 (RFC 9110 §15.5.6), read at startup from the JAX-RS annotations of every resource
 * (every bean whose class carries {@link Path}): the framework's 405 does not carry it, and a new entry point gets it
 * without being listed anywhere. Paths with templates are not matched (no header then).
 */
@Singleton
class AllowedMethods {

    private final Map<String, String> byPath;

    AllowedMethods(BeanManager beans) {
        byPath = index(beans.getBeans(Object.class, Any.Literal.INSTANCE).stream()
                .map(Bean::getBeanClass)
                .filter(type -> type.isAnnotationPresent(Path.class))
                .distinct()
                .toArray(Class<?>[]::new));
    }

    /** The methods the path answers to, comma-separated, if a resource has it. */
    Optional<String> forPath(String path) {
        return Optional.ofNullable(byPath.get(normalise(path)));
    }

    private static Map<String, String> index(Class<?>... resources) {
        Map<String, Set<String>> methods = new TreeMap<>();
        for (Class<?> resource : resources) {
            Path base = resource.getAnnotation(Path.class);
            for (Method m : resource.getDeclaredMethods()) {
                Path sub = m.getAnnotation(Path.class);
                Arrays.stream(m.getAnnotations())
                        .map(a -> a.annotationType().getAnnotation(HttpMethod.class))
                        .filter(h -> h != null)
                        .forEach(h -> methods.computeIfAbsent(
                                        normalise((base == null ? "" : base.value()) + "/"
                                                + (sub == null ? "" : sub.value())),
                                        p -> new TreeSet<>())
                                .add(h.value()));
            }
        }
        return methods.entrySet().stream()
                .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> String.join(", ", e.getValue())));
    }

    private static String normalise(String path) {
        String collapsed = ("/" + path).replaceAll("/+", "/");
        return collapsed.length() > 1 && collapsed.endsWith("/")
                ? collapsed.substring(0, collapsed.length() - 1)
                : collapsed;
    }
}
