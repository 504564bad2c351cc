import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything measured around one interval: the serving brokers' CPU, Redis commands (inside Redis and as the brokers'
 * round trips), upstream calls, the bench API's CPU and the loader's own CPU.
 */
final class Meter implements Phase.Probe {
    private final Config cfg;
    private final Resp redis;
    private final long[] pids;
    private long[] cpu0, cpu1;
    private Map<String, Long> redis0, redis1, up0, up1;
    private long loader0, loader1;
    private long rtt0, rtt1;
    private long api0, api1; // the bench API's process CPU, ticks (0 without it)

    /** {@code pids}: the broker processes serving the row (none for rows without a broker). */
    Meter(Config cfg, Resp redis, long... pids) {
        this.cfg = cfg;
        this.redis = redis;
        this.pids = pids;
    }

    @Override
    public void before() throws IOException {
        up0 = upstreamStats();
        rtt0 = brokerRedisRoundTrips();
        redis0 = commandStats();
        cpu0 = ticks();
        api0 = cfg.apiPid > 0 ? Proc.cpuTicks(cfg.apiPid) : 0;
        loader0 = Proc.loaderCpuNanos();
    }

    @Override
    public void after() throws IOException {
        loader1 = Proc.loaderCpuNanos();
        api1 = cfg.apiPid > 0 ? Proc.cpuTicks(cfg.apiPid) : 0;
        cpu1 = ticks();
        redis1 = commandStats();
        rtt1 = brokerRedisRoundTrips();
        up1 = upstreamStats();
    }

    private long[] ticks() throws IOException {
        long[] t = new long[pids.length];
        for (int i = 0; i < pids.length; i++) {
            t[i] = Proc.cpuTicks(pids[i]);
        }
        return t;
    }

    /** The serving brokers' CPU over the interval, summed, µs. */
    long brokerCpuMicros() {
        long sum = 0;
        for (int i = 0; i < pids.length; i++) {
            sum += cpu1[i] - cpu0[i];
        }
        return sum * 1_000_000L / cfg.clkTck;
    }

    /** The bench API's CPU over the interval, µs (0 without api-pid). */
    double apiCpuMicros() {
        return (api1 - api0) * 1e6 / cfg.clkTck;
    }

    long loaderCpuNanos() {
        return loader1 - loader0;
    }

    /** Redis commands the brokers sent (round trips). */
    long brokerRoundTrips() {
        return rtt1 - rtt0;
    }

    /** Redis calls per command in the interval, those that changed only. */
    Map<String, Long> redisDelta() {
        Map<String, Long> d = new TreeMap<>();
        redis1.forEach((k, v) -> {
            long delta = v - redis0.getOrDefault(k, 0L);
            if (delta != 0) {
                d.put(k, delta);
            }
        });
        return d;
    }

    long redisTotal() {
        return redisDelta().values().stream().mapToLong(Long::longValue).sum();
    }

    /** One upstream counter's change: code, refresh, revocation, other or rejected. */
    long upstreamDelta(String key) {
        return up1.getOrDefault(key, 0L) - up0.getOrDefault(key, 0L);
    }

    /** Upstream calls of any kind in the interval. */
    long upstreamTotal() {
        return upstreamCalls(up1) - upstreamCalls(up0);
    }

    private static long upstreamCalls(Map<String, Long> s) {
        return s.getOrDefault("code", 0L)
                + s.getOrDefault("refresh", 0L)
                + s.getOrDefault("revocation", 0L)
                + s.getOrDefault("other", 0L);
    }

    /** Redis calls per command since startup (INFO commandstats), without INFO itself. */
    private Map<String, Long> commandStats() throws IOException {
        String info = (String) redis.call("INFO", "commandstats");
        Map<String, Long> m = new TreeMap<>();
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String name = line.substring(8, line.indexOf(':'));
                if (name.equals("info")) {
                    continue;
                }
                int c = line.indexOf("calls=");
                int e = line.indexOf(',', c);
                m.put(name, Long.parseLong(line.substring(c + 6, e)));
            }
        }
        return m;
    }

    /**
     * Redis commands the brokers sent (their client's {@code redis_commands_duration_seconds_count}): round trips,
     * unlike {@link #commandStats}, which also counts the commands a script runs inside Redis.
     */
    private long brokerRedisRoundTrips() throws IOException {
        long sum = 0;
        for (String b : new String[] {cfg.managementA, cfg.managementB, cfg.managementC, cfg.managementD}) {
            if (b == null) {
                continue;
            }
            try (Http.Client c = Http.Client.of(b)) {
                if (c.send("GET", "/q/metrics", null, null, null) != 200) {
                    continue;
                }
                for (String line : c.body().split("\n")) {
                    if (line.startsWith("redis_commands_duration_seconds_count")) {
                        sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    }
                }
            }
        }
        return sum;
    }

    private Map<String, Long> upstreamStats() throws IOException {
        try (Http.Client c = Http.Client.of(cfg.upstream)) {
            if (c.send("GET", "/stats", null, null, null) != 200) {
                throw new IOException("upstream /stats failed");
            }
            Map<String, Long> m = new LinkedHashMap<>();
            for (String line : c.body().split("\n")) {
                String[] kv = line.split("=");
                if (kv.length == 2) {
                    m.put(kv[0], Long.parseLong(kv[1].trim()));
                }
            }
            return m;
        }
    }
}
