import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs virtual users for a while, one thread each: the closed loop (the next request when the last answered), or the
 * open model (a constant arrival rate, latency from each request's intended send time).
 */
final class Phase {
    /** Hard per-VU request cap of any phase: every loop is bounded in count as well as in time. */
    static final long MAX_REQUESTS_PER_VU = 5_000_000;

    private Phase() {}

    /** Brackets the interval: called just before the VUs start and just after the last one stopped. */
    interface Probe {
        void before() throws IOException;

        void after() throws IOException;
    }

    /** What the VUs of one phase did. */
    static final class Result {
        long requests, non2xx, ioErrors, protocolErrors;
        double seconds;
        long[] latNanos = new long[0]; // sorted
        Map<Integer, Long> statuses = new TreeMap<>();
        List<String> samples = new ArrayList<>();
        boolean exhaustedEarly;
        long behind; // open model: sends still due when the interval ended

        long failed() {
            return non2xx + ioErrors + protocolErrors;
        }

        double perSecond() {
            return requests / seconds;
        }

        /** The latency at quantile {@code p} (0..1) in ms; NaN without requests. */
        double percentileMs(double p) {
            if (latNanos.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.ceil(p * latNanos.length) - 1;
            return latNanos[Math.max(0, Math.min(i, latNanos.length - 1))] / 1e6;
        }
    }

    /** The closed loop for {@code seconds}, at most {@code maxPerVu} requests each; probe (or null) brackets it. */
    static Result run(List<? extends Vu> vus, double seconds, long maxPerVu, Probe probe) throws Exception {
        return run(vus, seconds, maxPerVu, probe, 0);
    }

    /** Like {@link #run(List, double, long, Probe)}; with {@code rate} > 0 req/s, the open model at that rate. */
    static Result run(List<? extends Vu> vus, double seconds, long maxPerVu, Probe probe, double rate)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Worker> timed = new ArrayList<>();
        if (probe != null) {
            probe.before();
        }
        long begin = System.nanoTime();
        long deadline = begin + (long) (seconds * 1e9);
        // Open model: each VU sends rate/n per second, the VUs' schedules spread evenly over one interval.
        long interval = rate > 0 ? (long) (1e9 * vus.size() / rate) : 0;
        for (Vu vu : vus) {
            Worker w = new Worker(vu, start, deadline, maxPerVu);
            w.intervalNanos = interval;
            w.firstIntended = begin + interval * timed.size() / vus.size();
            timed.add(w);
            w.start();
        }
        start.countDown();
        for (Worker w : timed) {
            // Every request has a 30 s socket timeout: a worker cannot outlive its deadline by much more.
            w.join(TimeUnit.SECONDS.toMillis((long) seconds + 60));
            if (w.isAlive()) {
                throw new IllegalStateException("a virtual user did not stop");
            }
        }
        long end = System.nanoTime();
        if (probe != null) {
            probe.after();
        }
        return collect(timed, (end - begin) / 1e9);
    }

    private static Result collect(List<Worker> workers, double seconds) {
        Result r = new Result();
        r.seconds = seconds;
        int total = 0;
        for (Worker w : workers) {
            total += w.latN;
        }
        r.latNanos = new long[total];
        int off = 0;
        for (Worker w : workers) {
            System.arraycopy(w.lat, 0, r.latNanos, off, w.latN);
            off += w.latN;
            r.requests += w.requests;
            r.non2xx += w.non2xx;
            r.ioErrors += w.ioErrors;
            r.protocolErrors += w.protocolErrors;
            w.statuses.forEach((k, v) -> r.statuses.merge(k, v, Long::sum));
            for (String s : w.samples) {
                if (r.samples.size() < 5) {
                    r.samples.add(s);
                }
            }
            r.exhaustedEarly |= w.exhausted;
            r.behind += w.behind;
        }
        Arrays.sort(r.latNanos);
        return r;
    }

    /**
     * One virtual user on its own connection. Closed loop ({@code intervalNanos} 0): the next request when the last
     * answered, latency from its send. Open model: a request every {@code intervalNanos} from {@code firstIntended},
     * latency from the intended send time, as wrk2 measures, so a late answer also counts the requests it held up
     * (no coordinated omission); sends still due at the deadline are counted in {@code behind}.
     */
    private static final class Worker extends Thread {
        final Vu vu;
        final long deadlineNanos;
        final long maxRequests;
        final CountDownLatch start;
        long intervalNanos;
        long firstIntended;
        long behind;
        long requests, non2xx, ioErrors, protocolErrors;
        long[] lat = new long[4096];
        int latN;
        final Map<Integer, Long> statuses = new TreeMap<>();
        final List<String> samples = new ArrayList<>();
        boolean exhausted;

        Worker(Vu vu, CountDownLatch start, long deadlineNanos, long maxRequests) {
            super("vu");
            this.vu = vu;
            this.start = start;
            this.deadlineNanos = deadlineNanos;
            this.maxRequests = maxRequests;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                start.await();
            } catch (InterruptedException e) {
                return;
            }
            long intended = firstIntended;
            while (requests < maxRequests && System.nanoTime() < deadlineNanos) {
                if (vu.exhausted()) {
                    exhausted = true;
                    break;
                }
                long t0 = System.nanoTime();
                if (intervalNanos > 0) {
                    if (intended >= deadlineNanos) {
                        break;
                    }
                    while (t0 < intended) {
                        LockSupport.parkNanos(intended - t0);
                        t0 = System.nanoTime();
                    }
                    t0 = intended;
                    intended += intervalNanos;
                }
                int status;
                try {
                    status = vu.step();
                } catch (Vu.ProtocolError e) {
                    protocolErrors++;
                    status = -2;
                    sample("protocol error: " + e.getMessage());
                } catch (IOException e) {
                    ioErrors++;
                    status = -1;
                    sample("I/O error: " + e);
                }
                long dt = System.nanoTime() - t0;
                requests++;
                if (latN == lat.length) {
                    lat = Arrays.copyOf(lat, lat.length * 2);
                }
                lat[latN++] = dt;
                statuses.merge(status, 1L, Long::sum);
                if (status >= 0 && (status < 200 || status > 299)) {
                    non2xx++;
                    sample("HTTP " + status + ": " + vu.lastBody());
                }
            }
            if (intervalNanos > 0 && intended < deadlineNanos) {
                behind = (deadlineNanos - intended + intervalNanos - 1) / intervalNanos;
            }
        }

        private void sample(String s) {
            if (samples.size() < 3) {
                samples.add(s.length() > 300 ? s.substring(0, 300) + "…" : s);
            }
        }
    }
}
