import java.util.List;

/**
 * One kind of row (or a family of them, one instance per row name): how it prepares (sessions, tokens, not measured),
 * the virtual users it runs, which processes serve it and what its note says. Register new ones in {@link Scenarios}.
 */
interface Scenario {
    /** The row's name in BENCH_OPS and in the table. */
    String name();

    /** Before anything starts: throws IllegalArgumentException when the row cannot run with this configuration. */
    default void checkConfig(Config cfg) {}

    /**
     * Prepares one row at {@code conns} connections, not measured: one VU per connection.
     *
     * @param done the rows measured so far in this run (in order)
     */
    Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws Exception;

    /** Served by broker(s): their CPU and Redis round trips per request are columns. */
    default boolean brokerRow() {
        return true;
    }

    /** Each request is one refresh at the upstream: checked for 1 upstream call per request (± 1 %). */
    default boolean upstreamBoundRefresh() {
        return false;
    }

    /** Calls the bench API (no %floor; the API's CPU per request in details.txt). */
    default boolean apiRow() {
        return false;
    }

    /** May be repeated in the open model (not when its prepared work is used up by the closed loop). */
    default boolean hasOpenModel() {
        return true;
    }

    /** What {@link #prepare} hands to the runner. */
    final class Setup {
        final List<Vu> vus;
        /** The processes serving the row: their CPU and RSS are measured. */
        final long[] pids;

        String note = "";
        /** The warm-up is the configured one, but at most this long... */
        double maxWarmupSeconds = Double.POSITIVE_INFINITY;
        /** ...and at most this many requests per VU. */
        long warmupRequestsPerVu = Phase.MAX_REQUESTS_PER_VU;

        Setup(List<Vu> vus, long... pids) {
            this.vus = vus;
            this.pids = pids;
        }

        Setup note(String note) {
            this.note = note;
            return this;
        }
    }
}
