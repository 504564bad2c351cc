package dev.tokenbroker.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One upstream as configured: the default one ({@code broker.upstream.*}, id {@value #DEFAULT}) or a named one
 * ({@code broker.upstreams.<id>.*}). Its id tags its metrics and binds the refresh tokens it issued.
 */
public record ConfiguredUpstream(String id, BrokerConfig.Upstream settings) {

    public static final String DEFAULT = "default";
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    /**
     * The default upstream first, when it is configured or no other is, then the named ones by id.
     *
     * @throws IllegalArgumentException naming the property when an id is not allowed
     */
    public static List<ConfiguredUpstream> all(BrokerConfig config) {
        List<ConfiguredUpstream> all = new ArrayList<>();
        if (isConfigured(config.upstream()) || config.upstreams().isEmpty()) {
            all.add(new ConfiguredUpstream(DEFAULT, config.upstream()));
        }
        config.upstreams().keySet().stream().sorted().forEach(id -> {
            if (DEFAULT.equals(id) || !ID.matcher(id).matches()) {
                throw new IllegalArgumentException("broker.upstreams." + id
                        + ": an upstream id is 1 to 32 lower-case letters, digits and dashes, and not '" + DEFAULT
                        + "' (that is broker.upstream.*)");
            }
            all.add(new ConfiguredUpstream(id, config.upstreams().get(id)));
        });
        return all;
    }

    /** As {@link #all}, but none when an id is not allowed: for the checks beside {@link ConfigurationCheck}'s. */
    static List<ConfiguredUpstream> allOrNone(BrokerConfig config) {
        try {
            return all(config);
        } catch (IllegalArgumentException e) {
            return List.of();
        }
    }

    /**
     * One line for each upstream whose issuer (without a trailing slash) an upstream before it has: a logout token
     * finds its upstream by issuer, so two upstreams must not share one.
     */
    static List<String> sharedIssuers(List<ConfiguredUpstream> upstreams) {
        List<String> problems = new ArrayList<>();
        Map<String, ConfiguredUpstream> byIssuer = new HashMap<>();
        for (ConfiguredUpstream upstream : upstreams) {
            upstream.settings().issuer().ifPresent(issuer -> {
                String key = issuer.toString().replaceAll("/+$", "");
                ConfiguredUpstream first = byIssuer.putIfAbsent(key, upstream);
                if (first != null) {
                    problems.add(upstream.property("issuer") + " is also " + first.property("issuer")
                            + ": one upstream per issuer (a logout token names its upstream by issuer)");
                }
            });
        }
        return problems;
    }

    /** The full name of one of this upstream's properties, e.g. {@code broker.upstreams.partner.issuer}. */
    public String property(String name) {
        return (DEFAULT.equals(id) ? "broker.upstream." : "broker.upstreams." + id + ".") + name;
    }

    private static boolean isConfigured(BrokerConfig.Upstream upstream) {
        return upstream.issuer().isPresent() || upstream.tokenEndpoint().isPresent();
    }
}
