import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;

/**
 * A minimal resource server for the API proxy rows (JDK only), in the style of {@link Upstream}: blocking sockets,
 * one thread per keep-alive connection (at most 2048), loopback only, fixed answers built once at start.
 *
 * <pre>
 * GET /api/1k     200, a 1,024-byte JSON body
 * GET /api/100k   200, a 102,400-byte JSON body
 * GET /stats      counters as key=value lines (no token needed)
 * </pre>
 *
 * The two API paths need {@code Authorization: Bearer <an access token of bench/Upstream>} (recognised by its JOSE
 * header); without one they answer 401 with {@code WWW-Authenticate: Bearer}, so a proxy that forwarded a call
 * without the session's token fails the row. Arguments: {@code port=N} (0: any), {@code max-seconds=N} (default
 * 3600: the process exits after that long whatever happens).
 */
public final class Api {

    static final int SMALL = 1024;
    static final int LARGE = 100 * 1024;

    static final LongAdder served = new LongAdder();
    static final LongAdder unauthorized = new LongAdder();
    static final LongAdder other = new LongAdder();

    static final String BEARER_PREFIX = "Bearer " + Upstream.JWT_HEADER + ".";

    public static void main(String[] args) throws Exception {
        int port = 0;
        long maxSeconds = 3600;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "port" -> port = Integer.parseInt(kv[1]);
                case "max-seconds" -> maxSeconds = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        byte[] small = answer(200, "OK", "application/json", body(SMALL), "");
        byte[] large = answer(200, "OK", "application/json", body(LARGE), "");
        byte[] refused = answer(
                401,
                "Unauthorized",
                "application/json",
                "{\"error\":\"invalid_token\"}",
                "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
        byte[] notFound = answer(404, "Not Found", "application/json", "{\"error\":\"not_found\"}", "");
        ServerSocket server = new ServerSocket(port, 1024, InetAddress.getLoopbackAddress());
        System.out.println("listening " + server.getLocalPort());
        System.out.flush();
        Http.acceptForever(server, "api-conn", maxSeconds, s -> serve(s, small, large, refused, notFound));
    }

    private static void serve(Socket s, byte[] small, byte[] large, byte[] refused, byte[] notFound) {
        try (s) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(120_000);
            Http.In in = new Http.In(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                Http.Message req = Http.read(in, false);
                if (req == null) {
                    return;
                }
                String[] start = req.startLine.split(" ");
                String method = start[0];
                String target = start.length > 1 ? start[1] : "";
                int q = target.indexOf('?');
                String path = q < 0 ? target : target.substring(0, q);
                byte[] answer;
                if (method.equals("GET") && path.equals("/stats")) {
                    answer = answer(
                            200,
                            "OK",
                            "text/plain",
                            "served=" + served.sum() + "\nunauthorized=" + unauthorized.sum() + "\nother=" + other.sum()
                                    + "\n",
                            "");
                } else if (method.equals("GET") && (path.equals("/api/1k") || path.equals("/api/100k"))) {
                    if (req.authorization == null || !req.authorization.startsWith(BEARER_PREFIX)) {
                        unauthorized.increment();
                        answer = refused;
                    } else {
                        served.increment();
                        answer = path.equals("/api/1k") ? small : large;
                    }
                } else {
                    other.increment();
                    answer = notFound;
                }
                out.write(answer);
                out.flush();
                if (req.close) {
                    return;
                }
            }
        } catch (IOException e) {
            // client went away
        }
    }

    /** A JSON object of exactly {@code size} bytes: a fixed filler, as an API's list answer would be. */
    static String body(int size) {
        String head = "{\"size\":" + size + ",\"data\":\"";
        String tail = "\"}";
        StringBuilder sb = new StringBuilder(size).append(head);
        String letters = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; sb.length() < size - tail.length(); i++) {
            sb.append(letters.charAt((i * 7) % letters.length()));
        }
        return sb.append(tail).toString();
    }

    static byte[] answer(int status, String reason, String type, String body, String extraHeaders) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] h = ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: " + type
                        + "\r\nCache-Control: no-store\r\n" + extraHeaders + "Content-Length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[h.length + b.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }
}
