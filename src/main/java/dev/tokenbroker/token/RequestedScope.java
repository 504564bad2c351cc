package dev.tokenbroker.token;

import java.util.Arrays;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

import dev.tokenbroker.error.BrokerException;

/** The scope a refresh asks for (RFC 6749 §6): the session's whole scope, or a subset of it. */
public final class RequestedScope {

    private static final RequestedScope WHOLE = new RequestedScope(null);

    /** Null for the session's whole scope. */
    private final SortedSet<String> tokens;

    private RequestedScope(SortedSet<String> tokens) {
        this.tokens = tokens;
    }

    public static RequestedScope whole() {
        return WHOLE;
    }

    /** @param scope the {@code scope} parameter, already checked against RFC 6749 §3.3 syntax; null or blank for all */
    public static RequestedScope parse(String scope) {
        if (scope == null || scope.isBlank()) {
            return WHOLE;
        }
        return new RequestedScope(new TreeSet<>(Arrays.asList(scope.trim().split(" +"))));
    }

    /**
     * Checks the request against the session's granted scope: wider is {@code invalid_scope}, all of it is the same
     * as asking for nothing. When the upstream never reported a granted scope, the upstream decides.
     */
    public RequestedScope within(String granted) {
        if (tokens == null || granted == null || granted.isBlank()) {
            return this;
        }
        SortedSet<String> have = new TreeSet<>(Arrays.asList(granted.trim().split(" +")));
        if (!have.containsAll(tokens)) {
            throw new BrokerException.InvalidScope("The requested scope exceeds the scope granted to this session");
        }
        return have.equals(tokens) ? WHOLE : this;
    }

    public boolean isWhole() {
        return tokens == null;
    }

    /** The {@code scope} parameter for the upstream: absent for the whole scope. */
    public Optional<String> parameter() {
        return tokens == null ? Optional.empty() : Optional.of(key());
    }

    /** A canonical form, equal for equal requests (order and repeated spaces do not matter); "" for the whole scope. */
    public String key() {
        return tokens == null ? "" : String.join(" ", tokens);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestedScope other && key().equals(other.key());
    }

    @Override
    public int hashCode() {
        return key().hashCode();
    }

    @Override
    public String toString() {
        return tokens == null ? "RequestedScope[whole]" : "RequestedScope[" + key() + "]";
    }
}
