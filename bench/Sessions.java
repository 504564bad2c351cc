import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Broker sessions made before a row, not measured. */
final class Sessions {
    private Sessions() {}

    /** {@code count} sessions by code exchanges at {@code broker}, shuffled; bounded in count and time. */
    static List<String> create(Config cfg, String broker, int count) throws Exception {
        List<String> handles = Collections.synchronizedList(new ArrayList<>(count));
        int par = Math.max(1, Math.min(16, count));
        AtomicInteger claimed = new AtomicInteger();
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < par; i++) {
            // Counted when started, so that together the VUs stop at about count exchanges, not count each.
            vus.add(new ExchangeVu(cfg, broker, handles, count) {
                @Override
                public boolean exhausted() {
                    return claimed.get() >= count;
                }

                @Override
                public int step() throws IOException {
                    claimed.incrementAndGet();
                    return super.step();
                }
            });
        }
        Phase.Result r = Phase.run(vus, 600, count, null);
        Vu.closeAll(vus);
        if (r.failed() > 0 || handles.size() < count) {
            throw new IllegalStateException(
                    "pre-creating " + count + " sessions at " + broker + " failed: " + r.statuses + " " + r.samples);
        }
        List<String> out = new ArrayList<>(handles.subList(0, count));
        Collections.shuffle(out);
        return out;
    }
}
