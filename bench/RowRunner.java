import java.util.List;
import java.util.Locale;

/**
 * Runs one row: prepares it (not measured), warms it up, measures it, then measures it again in the open model when
 * asked; reads the serving brokers' RSS and adds the row to details.txt.
 */
final class RowRunner {
    private final Config cfg;
    private final Resp redis;
    private final StringBuilder details;

    RowRunner(Config cfg, Resp redis, StringBuilder details) {
        this.cfg = cfg;
        this.redis = redis;
        this.details = details;
    }

    /** {@code done}: the rows measured so far (some rows size themselves from earlier ones). */
    Row run(Scenario scenario, int conns, List<Row> done) throws Exception {
        Scenario.Setup setup = scenario.prepare(cfg, redis, conns, done);
        List<Vu> vus = setup.vus;
        double warmup = Math.min(cfg.warmup, setup.maxWarmupSeconds);
        Phase.Result w = Phase.run(vus, warmup, setup.warmupRequestsPerVu, null);
        if (w.failed() > 0) {
            details.append(String.format(
                    "warm-up of %s c=%d: statuses %s samples %s%n", scenario.name(), conns, w.statuses, w.samples));
        }
        Meter m = new Meter(cfg, redis, setup.pids);
        Row row = new Row(scenario, conns, false, Phase.run(vus, cfg.measure, Phase.MAX_REQUESTS_PER_VU, m), m);
        row.note = setup.note;
        if (cfg.openModel() && scenario.hasOpenModel()) {
            row.open = openModel(row, vus, setup.pids);
        }
        Vu.closeAll(vus);
        if (setup.pids.length > 0) {
            row.rss = rssMb(setup.pids);
        }
        if (row.result.exhaustedEarly) {
            row.note = (row.note.isEmpty() ? "" : row.note + "; ")
                    + String.format(Locale.ROOT, "pool used up after %.1f s", row.result.seconds);
        }
        details.append(Report.rowDetails(cfg, row));
        return row;
    }

    /**
     * The row again at a constant arrival rate ({@code open-rate} req/s, or {@code open-model} times the req/s it just
     * reached), on the same VUs (so at most {@code conns} requests in flight): latency from each request's intended
     * send time.
     */
    private Row openModel(Row closed, List<Vu> vus, long[] pids) throws Exception {
        double rate = cfg.openRate > 0 ? cfg.openRate : closed.rps() * cfg.openFraction;
        Meter m = new Meter(cfg, redis, pids);
        Phase.Result r = Phase.run(vus, cfg.measure, Phase.MAX_REQUESTS_PER_VU, m, rate);
        Row open = new Row(closed.scenario, closed.conns, true, r, m);
        open.note = String.format(
                Locale.ROOT,
                "open model at %.0f req/s (%.0f %% of the closed loop's); latency from the intended send%s",
                rate,
                100 * rate / closed.rps(),
                open.result.behind > 0 ? "; " + open.result.behind + " sends still due at the end" : "");
        details.append(Report.rowDetails(cfg, open));
        return open;
    }

    /** VmRSS of each process in MB, joined by '+'. */
    private static String rssMb(long[] pids) {
        StringBuilder rss = new StringBuilder();
        for (long pid : pids) {
            if (rss.length() > 0) {
                rss.append('+');
            }
            rss.append(Proc.rssKb(pid) / 1024);
        }
        return rss.toString();
    }
}
