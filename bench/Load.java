import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Load generator and driver of the token-broker benchmark (JDK only): the command line. Closed loop: N virtual
 * users, each one thread with its own keep-alive connection(s), each sending its next request when the previous
 * answer has arrived. A virtual user owns its sessions and always presents the refresh_token of the latest response
 * for a session (handles may rotate on every refresh and may have any format). See bench/README.md for the layout.
 *
 * <pre>
 * java -cp bench/target/classes Load freeports N          N free loopback ports, one per line
 * java -cp bench/target/classes Load wait URL... [timeout=S] until every URL answers 200
 * java -cp bench/target/classes Load run key=value...     the benchmark; see Config and bench/README.md
 * java -cp bench/target/classes Load upstream-check URL CONNS SECONDS   the upstream alone: refresh grants/s
 * </pre>
 */
public final class Load {
    private Load() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: Load freeports N | wait URL... | run key=value...");
        }
        switch (args[0]) {
            case "freeports" -> freePorts(Integer.parseInt(args[1]));
            case "wait" -> System.exit(waitReady(Arrays.copyOfRange(args, 1, args.length)) ? 0 : 1);
            case "run" -> System.exit(Bench.run(Arrays.copyOfRange(args, 1, args.length)));
            case "upstream-check" -> UpstreamCheck.run(args[1], Integer.parseInt(args[2]), Double.parseDouble(args[3]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    static void log(String s) {
        System.err.println("[bench] " + s);
        System.err.flush();
    }

    private static void freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                System.out.println(s.getLocalPort());
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private static boolean waitReady(String[] args) throws InterruptedException {
        double timeout = 120;
        List<String> urls = new ArrayList<>();
        for (String a : args) {
            if (a.startsWith("timeout=")) {
                timeout = Double.parseDouble(a.substring(8));
            } else {
                urls.add(a);
            }
        }
        long deadline = System.nanoTime() + (long) (timeout * 1e9);
        for (String url : urls) {
            URI u = URI.create(url);
            for (int attempt = 0; attempt < 100_000; attempt++) {
                try (Http.Client c = new Http.Client(u.getHost(), u.getPort())) {
                    if (c.send("GET", u.getRawPath(), null, null, null) == 200) {
                        break;
                    }
                } catch (IOException e) {
                    // not yet
                }
                if (System.nanoTime() > deadline) {
                    System.err.println("not ready within " + timeout + " s: " + url);
                    return false;
                }
                Thread.sleep(100);
            }
        }
        return true;
    }
}
