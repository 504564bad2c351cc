import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * A minimal, fast stand-in for the upstream token server (JDK only): blocking sockets, one thread per
 * keep-alive connection (at most 2048 connections), loopback only.
 *
 * <pre>
 * POST /connect/token       authorization_code (any code) or refresh_token: a token response
 * POST /connect/revocation  200, empty body
 * GET  /stats               call counters as key=value lines
 * </pre>
 *
 * Arguments: {@code port=N} (0: any free port, printed as "listening N"), {@code rotate=true|false}
 * (default true: every refresh returns a new refresh token), {@code delay-ms=N} (default 0: sleep before
 * answering a token call), {@code strict=true|false} (default true: refresh tokens are checked, a token the
 * upstream did not issue, already rotated away or revoked gets 400 invalid_grant and is counted as
 * {@code rejected}: this is how the benchmark notices a refresh token presented twice),
 * {@code max-seconds=N} (default 3600: the process exits after that long whatever happens).
 */
public final class Upstream {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final String JWT_HEADER = B64.encodeToString(
            "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"bench\"}".getBytes(StandardCharsets.UTF_8));

    static final LongAdder codeCalls = new LongAdder();
    static final LongAdder refreshCalls = new LongAdder();
    static final LongAdder revocationCalls = new LongAdder();
    static final LongAdder otherCalls = new LongAdder();
    static final LongAdder rejected = new LongAdder();
    static final ConcurrentHashMap<String, Boolean> live = new ConcurrentHashMap<>();

    static boolean rotate = true;
    static boolean strict = true;
    static long delayMs = 0;
    static String issuer;

    public static void main(String[] args) throws Exception {
        int port = 0;
        long maxSeconds = 3600;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "port" -> port = Integer.parseInt(kv[1]);
                case "rotate" -> rotate = Boolean.parseBoolean(kv[1]);
                case "strict" -> strict = Boolean.parseBoolean(kv[1]);
                case "delay-ms" -> delayMs = Long.parseLong(kv[1]);
                case "max-seconds" -> maxSeconds = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        ServerSocket server = new ServerSocket(port, 1024, InetAddress.getLoopbackAddress());
        issuer = "http://127.0.0.1:" + server.getLocalPort();
        System.out.println("listening " + server.getLocalPort() + " rotate=" + rotate + " strict=" + strict
                + " delay-ms=" + delayMs);
        System.out.flush();
        long deadline = maxSeconds * 1000;
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(deadline);
            } catch (InterruptedException ignored) {
                return;
            }
            System.out.println("max-seconds reached, exiting");
            System.exit(3);
        });
        killer.setDaemon(true);
        killer.start();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "upstream-conn");
            t.setDaemon(true);
            return t;
        });
        Semaphore connections = new Semaphore(2048);
        while (true) {
            Socket s = server.accept();
            if (!connections.tryAcquire()) {
                s.close();
                continue;
            }
            pool.execute(() -> {
                try {
                    serve(s);
                } finally {
                    connections.release();
                }
            });
        }
    }

    private static void serve(Socket s) {
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
                String path = start.length > 1 ? start[1] : "";
                int status;
                String body;
                String type = "application/json";
                if (method.equals("POST") && path.equals("/connect/token")) {
                    if (delayMs > 0) {
                        Thread.sleep(delayMs);
                    }
                    String form = req.bodyString();
                    String grant = Http.formField(form, "grant_type");
                    if ("authorization_code".equals(grant)) {
                        codeCalls.increment();
                        String rt = randomToken(32);
                        if (strict) {
                            live.put(rt, Boolean.TRUE);
                        }
                        status = 200;
                        body = tokenResponse(rt);
                    } else if ("refresh_token".equals(grant)) {
                        refreshCalls.increment();
                        String presented = Http.formField(form, "refresh_token");
                        boolean ok = presented != null
                                && (!strict || (rotate ? live.remove(presented) != null : live.containsKey(presented)));
                        if (!ok) {
                            rejected.increment();
                            status = 400;
                            body = "{\"error\":\"invalid_grant\"}";
                        } else {
                            String rt = rotate ? randomToken(32) : presented;
                            if (strict && rotate) {
                                live.put(rt, Boolean.TRUE);
                            }
                            status = 200;
                            body = tokenResponse(rt);
                        }
                    } else {
                        otherCalls.increment();
                        status = 400;
                        body = "{\"error\":\"unsupported_grant_type\"}";
                    }
                } else if (method.equals("POST") && path.equals("/connect/revocation")) {
                    revocationCalls.increment();
                    String token = Http.formField(req.bodyString(), "token");
                    if (strict && token != null) {
                        live.remove(token);
                    }
                    status = 200;
                    body = "";
                } else if (method.equals("GET") && path.equals("/stats")) {
                    status = 200;
                    type = "text/plain";
                    body = "code=" + codeCalls.sum() + "\nrefresh=" + refreshCalls.sum() + "\nrevocation="
                            + revocationCalls.sum() + "\nother=" + otherCalls.sum() + "\nrejected=" + rejected.sum()
                            + "\nlive=" + live.size() + "\n";
                } else {
                    otherCalls.increment();
                    status = 404;
                    body = "{\"error\":\"not_found\"}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "HTTP/1.1 " + status
                        + (status == 200 ? " OK" : status == 404 ? " Not Found" : " Bad Request")
                        + "\r\nContent-Type: " + type + "\r\nCache-Control: no-store\r\nContent-Length: " + b.length
                        + "\r\n\r\n";
                byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
                byte[] all = new byte[h.length + b.length];
                System.arraycopy(h, 0, all, 0, h.length);
                System.arraycopy(b, 0, all, h.length, b.length);
                out.write(all);
                out.flush();
                if (req.close) {
                    return;
                }
            }
        } catch (IOException e) {
            // client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String randomToken(int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        return B64.encodeToString(b);
    }

    /** A JWT-shaped access token: real JSON header and claims (sub, sid), a random 256-byte "signature". */
    static String accessToken() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long now = System.currentTimeMillis() / 1000;
        String claims = "{\"iss\":\"" + issuer + "\",\"nbf\":" + now + ",\"iat\":" + now + ",\"exp\":" + (now + 3600)
                + ",\"client_id\":\"bench\",\"sub\":\"user-" + r.nextInt(1_000_000) + "\",\"sid\":\"" + randomToken(12)
                + "\",\"auth_time\":" + now + ",\"idp\":\"local\",\"jti\":\"" + randomToken(12)
                + "\",\"scope\":[\"openid\",\"offline_access\",\"api\"],\"amr\":[\"pwd\"]}";
        return JWT_HEADER + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8)) + "." + randomToken(256);
    }

    static String tokenResponse(String refreshToken) {
        return "{\"access_token\":\"" + accessToken() + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                + "\"scope\":\"openid offline_access api\",\"refresh_token\":\"" + refreshToken + "\"}";
    }
}
