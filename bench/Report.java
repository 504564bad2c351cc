import java.time.OffsetDateTime;
import java.util.List;
import java.util.Locale;

/** The output: results.txt's header, table and API ratios, results.csv, and each row's part of details.txt. */
final class Report {
    private final Config cfg;
    private final List<Row> rows;

    Report(Config cfg, List<Row> rows) {
        this.cfg = cfg;
        this.rows = rows;
    }

    String header() {
        StringBuilder sb = new StringBuilder();
        sb.append("token-broker benchmark  ")
                .append(OffsetDateTime.now().withNano(0))
                .append('\n');
        sb.append(String.format(
                Locale.ROOT,
                "cores %d; warm-up %.0f s, measured %.0f s per row; %d sessions per VU "
                        + "for refresh rows; closed loop, one keep-alive connection per VU%n",
                Runtime.getRuntime().availableProcessors(),
                cfg.warmup,
                cfg.measure,
                cfg.sessionsPerVu));
        if (!cfg.jvmOpts.isEmpty()) {
            sb.append("broker JVM options: ").append(cfg.jvmOpts).append('\n');
        }
        if (!cfg.notes.isEmpty()) {
            sb.append(cfg.notes).append('\n');
        }
        return sb.toString();
    }

    String table() {
        String h = String.format(
                "%-24s %5s %9s %7s %8s %8s %9s %9s %8s %8s %8s %7s %9s  %s%n",
                "operation",
                "conns",
                "req/s",
                "%floor",
                "p50 ms",
                "p99 ms",
                "brkCPUus",
                "ldrCPUus",
                "rtt/rq",
                "redis/rq",
                "upstr/rq",
                "non2xx",
                "RSS MB",
                "note");
        StringBuilder sb = new StringBuilder(h);
        sb.append("-".repeat(h.length() + 10)).append('\n');
        for (Row r : rows) {
            double n = r.result.requests;
            sb.append(String.format(
                    "%-24s %5d %9s %7s %8s %8s %9s %9s %8s %8s %8s %7d %9s  %s%n",
                    r.op,
                    r.conns,
                    fmt(r.rps(), 0),
                    r.floorRow() ? "100%" : r.scenario.apiRow() ? "-" : fmt(100 * r.rps() / r.floorRps, 0) + "%",
                    fmt(r.pct(0.5), 2),
                    fmt(r.pct(0.99), 2),
                    r.scenario.brokerRow() ? fmt(r.meter.brokerCpuMicros() / n, 0) : "-",
                    fmt(r.meter.loaderCpuNanos() / 1000.0 / n, 0),
                    r.scenario.brokerRow()
                            ? fmt(r.meter.brokerRoundTrips() / n, 2)
                            : r.floorRow() ? "2.00" : "-", // the floor's two by construction
                    fmt(r.meter.redisTotal() / n, 2),
                    fmt(r.meter.upstreamTotal() / n, 3),
                    r.result.failed(),
                    r.rss,
                    noteWithRatio(r)));
        }
        return sb.toString();
    }

    /** Proxy ÷ direct throughput per size and connection count (the API proxy's target: ≥ 50 % at 50). */
    String apiRatios() {
        StringBuilder sb = new StringBuilder();
        for (Row r : rows) {
            Row direct = directOf(r);
            if (direct != null) {
                sb.append(String.format(
                        Locale.ROOT,
                        "  %-16s %3d connections: %6.0f / %6.0f req/s = %3.0f %%; broker CPU %s us per proxied call%n",
                        ((ApiRow) r.scenario).size(),
                        r.conns,
                        r.rps(),
                        direct.rps(),
                        100 * r.rps() / direct.rps(),
                        fmt(r.meter.brokerCpuMicros() / (double) r.result.requests, 0)));
            }
        }
        return sb.length() == 0
                ? ""
                : "\nAPI proxy / direct throughput (same run, same connections; target >= 50 % at 50):\n" + sb;
    }

    String csv() {
        StringBuilder sb = new StringBuilder("operation,conns,requests,seconds,rps,pct_floor,p50_ms,p99_ms,"
                + "broker_cpu_us_per_req,loader_cpu_us_per_req,redis_cmds_per_req,upstream_calls_per_req,non2xx,"
                + "io_errors,protocol_errors,rss_mb\n");
        for (Row r : rows) {
            double n = r.result.requests;
            sb.append(String.join(
                            ",",
                            r.op,
                            Integer.toString(r.conns),
                            Long.toString(r.result.requests),
                            fmt(r.result.seconds, 3),
                            fmt(r.rps(), 1),
                            r.floorRow() ? "100" : r.scenario.apiRow() ? "" : fmt(100 * r.rps() / r.floorRps, 1),
                            fmt(r.pct(0.5), 3),
                            fmt(r.pct(0.99), 3),
                            r.scenario.brokerRow() ? fmt(r.meter.brokerCpuMicros() / n, 1) : "",
                            fmt(r.meter.loaderCpuNanos() / 1000.0 / n, 1),
                            fmt(r.meter.redisTotal() / n, 3),
                            fmt(r.meter.upstreamTotal() / n, 4),
                            Long.toString(r.result.non2xx),
                            Long.toString(r.result.ioErrors),
                            Long.toString(r.result.protocolErrors),
                            r.rss.replace('+', ' ')))
                    .append('\n');
        }
        return sb.toString();
    }

    /** A row's part of details.txt: more percentiles, Redis and upstream calls per request, error samples. */
    static String rowDetails(Config cfg, Row row) {
        Phase.Result r = row.result;
        double n = Math.max(1, r.requests);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "== %s, %d connections: %d requests in %.2f s; statuses %s%n",
                row.op,
                row.conns,
                r.requests,
                r.seconds,
                r.statuses));
        sb.append(String.format(
                Locale.ROOT,
                "   latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f%n",
                row.pct(0.5),
                row.pct(0.9),
                row.pct(0.99),
                row.pct(0.999),
                row.pct(1.0)));
        sb.append("   Redis commands per request:");
        row.meter.redisDelta().forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s=%.3f", k, v / n)));
        sb.append('\n');
        sb.append(String.format(
                Locale.ROOT,
                "   upstream per request: code=%.3f refresh=%.3f revocation=%.3f other=%.3f; rejected (token reuse) %d%n",
                row.meter.upstreamDelta("code") / n,
                row.meter.upstreamDelta("refresh") / n,
                row.meter.upstreamDelta("revocation") / n,
                row.meter.upstreamDelta("other") / n,
                row.meter.upstreamDelta("rejected")));
        if (row.scenario.apiRow() && cfg.apiPid > 0) {
            sb.append(String.format(
                    Locale.ROOT, "   API server CPU per request: %.0f us%n", row.meter.apiCpuMicros() / n));
        }
        for (String s : r.samples) {
            sb.append("   sample: ").append(s).append('\n');
        }
        return sb.toString();
    }

    /** The direct row of the same size and connection count as this closed-loop proxy row, or null. */
    private Row directOf(Row proxy) {
        if (!(proxy.scenario instanceof ApiRow api) || !api.proxied() || proxy.openModel) {
            return null;
        }
        return rows.stream()
                .filter(x -> x.op.equals(api.directName()) && x.conns == proxy.conns)
                .findFirst()
                .orElse(null);
    }

    private String noteWithRatio(Row r) {
        Row direct = directOf(r);
        if (direct == null) {
            return r.note;
        }
        return r.note + "; " + fmt(100 * r.rps() / direct.rps(), 0) + "% of " + direct.op + " req/s";
    }

    static String fmt(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
