import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The arguments of {@code Load run key=value...} (see bench/run.sh), parsed once; immutable. */
final class Config {
    final String brokerA; // refresh-reuse-window=0s
    final String brokerB; // refresh-reuse-window=1h
    final String brokerC; // second replica of A (same Redis, window 0s)
    final String managementA, managementB, managementC; // their management interfaces: /q/metrics
    final long pidA, pidB, pidC;
    final String brokerD; // web mode with the API proxy (only with api-proxy rows)
    final String managementD;
    final long pidD;
    final String api; // bench/Api.java: the API behind the proxy (only with api rows)
    final long apiPid;
    final String webClientId;
    final String appOrigin; // the SPA's origin: sent as Origin, return_to is on it
    final String upstream;
    final int redisPort;
    final long clkTck;
    final List<Integer> conns;
    final double warmup, measure, initialWarmup;
    final int sessionsPerVu;
    final double revokePoolFactor;
    /** > 0: after each row's closed-loop measurement, an open-model one at this fraction of its req/s... */
    final double openFraction;
    /** ...or, > 0, at this many req/s (the same for the broker and the lower bound: their p99 side by side). */
    final double openRate;

    final String clientId;
    final String clientSecret;
    final String redirectUri;
    final Path out;
    final List<Scenario> ops; // the rows to run, in this order
    final String jvmOpts;
    final String notes;

    static Config parse(String[] args) {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String a : args) {
            String[] pair = a.split("=", 2);
            if (pair.length != 2) {
                throw new IllegalArgumentException("expected key=value: " + a);
            }
            kv.put(pair[0], pair[1]);
        }
        Config c = new Config(kv);
        if (!kv.isEmpty()) {
            throw new IllegalArgumentException(
                    "unknown key " + kv.keySet().iterator().next());
        }
        c.validate();
        return c;
    }

    /** Takes every key it knows out of {@code kv}: what is left is unknown. */
    private Config(Map<String, String> kv) {
        brokerA = kv.remove("broker-a");
        brokerB = kv.remove("broker-b");
        brokerC = kv.remove("broker-c");
        managementA = kv.remove("management-a");
        managementB = kv.remove("management-b");
        managementC = kv.remove("management-c");
        pidA = asLong(kv.remove("pid-a"), 0);
        pidB = asLong(kv.remove("pid-b"), 0);
        pidC = asLong(kv.remove("pid-c"), 0);
        brokerD = kv.remove("broker-d");
        managementD = kv.remove("management-d");
        pidD = asLong(kv.remove("pid-d"), 0);
        api = kv.remove("api");
        apiPid = asLong(kv.remove("api-pid"), 0);
        webClientId = or(kv.remove("web-client-id"), "bench-web");
        appOrigin = or(kv.remove("app-origin"), "http://127.0.0.1:1");
        upstream = kv.remove("upstream");
        openFraction = asDouble(kv.remove("open-model"), 0);
        openRate = asDouble(kv.remove("open-rate"), 0);
        redisPort = asInt(kv.remove("redis-port"), 0);
        clkTck = asLong(kv.remove("clk-tck"), 100);
        String c = kv.remove("conns");
        conns = c == null
                ? List.of(10, 50)
                : Arrays.stream(c.split(",")).map(Integer::valueOf).toList();
        warmup = asDouble(kv.remove("warmup"), 5);
        measure = asDouble(kv.remove("measure"), 15);
        initialWarmup = asDouble(kv.remove("initial-warmup"), 15);
        sessionsPerVu = asInt(kv.remove("sessions-per-vu"), 20);
        revokePoolFactor = asDouble(kv.remove("revoke-pool-factor"), 2.0);
        clientId = or(kv.remove("client-id"), "bench");
        clientSecret = or(kv.remove("client-secret"), "bench-secret");
        redirectUri = or(kv.remove("redirect-uri"), "bench://callback");
        out = Path.of(or(kv.remove("out"), "bench/target/last"));
        String o = kv.remove("ops");
        ops = o == null
                ? Scenarios.ALL
                : Arrays.stream(o.split(",")).map(Scenarios::byName).toList();
        jvmOpts = or(kv.remove("jvm-opts"), "");
        notes = or(kv.remove("notes"), "");
    }

    private void validate() {
        for (Scenario op : ops) {
            op.checkConfig(this);
        }
        for (int n : conns) {
            if (n < 1 || n > 1000) {
                throw new IllegalArgumentException("connections must be 1..1000: " + n);
            }
        }
    }

    /** After each row, the same row in the open model (BENCH_OPEN_MODEL or BENCH_OPEN_RATE). */
    boolean openModel() {
        return openFraction > 0 || openRate > 0;
    }

    private static String or(String v, String otherwise) {
        return v == null ? otherwise : v;
    }

    private static int asInt(String v, int otherwise) {
        return v == null ? otherwise : Integer.parseInt(v);
    }

    private static long asLong(String v, long otherwise) {
        return v == null ? otherwise : Long.parseLong(v);
    }

    private static double asDouble(String v, double otherwise) {
        return v == null ? otherwise : Double.parseDouble(v);
    }
}
