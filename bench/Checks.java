import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What makes the run fail (non-zero exit): see "Checks" in bench/README.md. */
final class Checks {
    private Checks() {}

    /** One message per failed check, naming the row; empty when every check passed. */
    static List<String> failures(List<Row> rows) {
        List<String> f = new ArrayList<>();
        for (Row r : rows) {
            String id = r.op + " c=" + r.conns;
            Phase.Result res = r.result;
            if (res.requests == 0) {
                f.add(id + ": no request completed");
                continue;
            }
            long bad = res.failed();
            if (bad > 0) {
                f.add(id + ": " + bad + " of " + res.requests + " requests failed (statuses " + res.statuses
                        + "); e.g. " + res.samples);
            }
            if (r.scenario.upstreamBoundRefresh()) {
                double per = (double) r.meter.upstreamTotal() / res.requests;
                if (per < 0.99 || per > 1.01) {
                    f.add(String.format(
                            Locale.ROOT, "%s: %.4f upstream calls per refresh, expected 1 (±1%%)", id, per));
                }
            }
            long rejected = r.meter.upstreamDelta("rejected");
            if (rejected > 0) {
                f.add(id + ": the upstream rejected " + rejected
                        + " refresh tokens it did not issue or had rotated away (a token presented twice)");
            }
        }
        return f;
    }

    /** The lines results.txt ends with. */
    static String summary(List<String> failures) {
        if (failures.isEmpty()) {
            return "\nCHECKS PASSED: every row all-2xx; upstream calls per upstream-bound refresh = 1 (±1%); "
                    + "the upstream saw no refresh token presented twice.\n";
        }
        StringBuilder sb = new StringBuilder("\nCHECKS FAILED:\n");
        for (String f : failures) {
            sb.append("  - ").append(f).append('\n');
        }
        return sb.toString();
    }
}
