package dev.tokenbroker.api;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;

/**
 * The {@code Allow} header of a 405 (RFC 9110 §15.5.6), read from the resource classes' JAX-RS annotations: the
 * framework's 405 does not carry it. A resource with literal paths is listed in {@link #RESOURCES}; paths with
 * templates are not matched (no header then).
 */
final class AllowedMethods {

    private static final Class<?>[] RESOURCES = {TokenResource.class, BackchannelLogoutResource.class};

    private static final Map<String, String> BY_PATH = index(RESOURCES);

    private AllowedMethods() {}

    /** The methods the path answers to, comma-separated, if one of {@link #RESOURCES} has it. */
    static Optional<String> forPath(String path) {
        return Optional.ofNullable(BY_PATH.get(normalise(path)));
    }

    static Map<String, String> index(Class<?>... resources) {
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
