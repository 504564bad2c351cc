import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code Load run}: warms the brokers up, runs every chosen row at every connection count, then writes the report
 * and checks it. Returns the exit status: 0 when every check passed.
 */
final class Bench {
    private final Config cfg;
    private final List<Row> rows = new ArrayList<>();
    private final StringBuilder details = new StringBuilder();

    private Bench(Config cfg) {
        this.cfg = cfg;
    }

    static int run(String[] args) throws Exception {
        return new Bench(Config.parse(args)).run();
    }

    private int run() throws Exception {
        Files.createDirectories(cfg.out);
        long started = System.nanoTime();
        try (Resp redis = new Resp(cfg.redisPort)) {
            redis.call("PING");
            warmUpBrokers();
            warmUpApiProxy();
            RowRunner runner = new RowRunner(cfg, redis, details);
            for (int conns : cfg.conns) {
                runAll(runner, conns);
            }
        }
        Report report = new Report(cfg, rows);
        List<String> failures = Checks.failures(rows);
        String out = report.header()
                + report.table()
                + report.apiRatios()
                + Checks.summary(failures)
                + String.format(
                        Locale.ROOT,
                        "(benchmark phase took %.0f s; details: %s)%n",
                        (System.nanoTime() - started) / 1e9,
                        cfg.out.resolve("details.txt"));
        System.out.print(out);
        Files.writeString(cfg.out.resolve("results.txt"), out);
        Files.writeString(cfg.out.resolve("results.csv"), report.csv());
        Files.writeString(cfg.out.resolve("details.txt"), details.toString());
        return failures.isEmpty() ? 0 : 1;
    }

    /** Every chosen row at {@code conns} connections, in order. */
    private void runAll(RowRunner runner, int conns) throws Exception {
        double floorRps = Double.NaN;
        for (Scenario op : cfg.ops) {
            checkAlive();
            Row row = runner.run(op, conns, rows);
            if (row.floorRow()) {
                floorRps = row.rps();
            }
            row.floorRps = floorRps;
            rows.add(row);
            if (row.open != null) {
                row.open.floorRps = floorRps;
                rows.add(row.open);
                Load.log(String.format(
                        Locale.ROOT,
                        "%-18s c=%-3d %8.0f req/s  p50 %.2f ms  p99 %.2f ms  %s",
                        row.open.op,
                        conns,
                        row.open.rps(),
                        row.open.pct(0.5),
                        row.open.pct(0.99),
                        row.open.note));
            }
            Load.log(String.format(
                    Locale.ROOT,
                    "%-18s c=%-3d %8.0f req/s  p50 %.2f ms  p99 %.2f ms  non-2xx %d  %s",
                    row.op,
                    conns,
                    row.rps(),
                    row.pct(0.5),
                    row.pct(0.99),
                    row.result.non2xx,
                    row.note));
        }
    }

    /** JIT of brokers a, b and c on the paths the rows measure: exchanges and refreshes (not measured). */
    private void warmUpBrokers() throws Exception {
        for (String b : new String[] {cfg.brokerA, cfg.brokerB, cfg.brokerC}) {
            if (b == null || cfg.initialWarmup <= 0) {
                continue;
            }
            Load.log("initial warm-up of " + b + " (" + cfg.initialWarmup + " s)");
            List<String> hs = Sessions.create(cfg, b, 10 * Math.max(1, cfg.sessionsPerVu / 2));
            List<Vu> vus = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                vus.add(
                        i % 2 == 0
                                ? new ExchangeVu(cfg, b, null, 0)
                                : new RefreshVu(
                                        cfg,
                                        new String[] {b},
                                        hs.subList(i * hs.size() / 10, (i + 1) * hs.size() / 10)));
            }
            Phase.Result w = Phase.run(vus, cfg.initialWarmup, Phase.MAX_REQUESTS_PER_VU, null);
            Vu.closeAll(vus);
            Load.log("  " + w.requests + " requests, statuses " + w.statuses);
        }
    }

    /** Broker d serves only the API proxy: its warm-up is proxied calls of both sizes (only with api-proxy rows). */
    private void warmUpApiProxy() throws Exception {
        boolean proxyRows = cfg.ops.stream().anyMatch(s -> s instanceof ApiRow api && api.proxied());
        if (cfg.initialWarmup <= 0 || !proxyRows) {
            return;
        }
        Load.log("initial warm-up of " + cfg.brokerD + " (API proxy, " + cfg.initialWarmup + " s)");
        List<String> sessions = WebLogins.create(cfg, 10);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            vus.add(ApiVu.proxied(cfg, i % 2 == 0 ? "1k" : "100k", sessions.get(i)));
        }
        Phase.Result w = Phase.run(vus, cfg.initialWarmup, Phase.MAX_REQUESTS_PER_VU, null);
        Vu.closeAll(vus);
        Load.log("  " + w.requests + " requests, statuses " + w.statuses);
    }

    private void checkAlive() {
        for (long pid : new long[] {cfg.pidA, cfg.pidB, cfg.pidC, cfg.pidD, cfg.apiPid}) {
            if (pid > 0 && !Proc.alive(pid)) {
                throw new IllegalStateException("process " + pid + " has exited: see its log in " + cfg.out);
            }
        }
    }
}
