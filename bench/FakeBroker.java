import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in broker for testing the benchmark harness itself ({@code BENCH_FAKE_BROKER=1 bench/run.sh --quick}),
 * not a benchmark subject. It behaves the way the broker is about to: every refresh rotates the handle, handles
 * are longer than 43 characters and contain a '.', and presenting anything but a session's latest handle ends the
 * session (400 invalid_grant). It keeps sessions in memory and calls the upstream for exchange, refresh and
 * revocation like the broker. {@code fail-every=N} answers every N-th token request with 500 (to check that the
 * harness fails loudly). Arguments: {@code port=N[,N2] upstream=URL [fail-every=N] [max-seconds=N]}.
 */
public final class FakeBroker {

    static final class Session {
        String secret;
        String upstreamRefreshToken;
    }

    static final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    static final AtomicLong tokenRequests = new AtomicLong();
    static String upstream;
    static long failEvery;

    public static void main(String[] args) throws Exception {
        String ports = "0";
        long maxSeconds = 3600;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "port" -> ports = kv[1]; // one or more, comma-separated: one process stands for replicas
                case "upstream" -> upstream = kv[1];
                case "fail-every" -> failEvery = Long.parseLong(kv[1]);
                case "max-seconds" -> maxSeconds = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        ExecutorService pool = Executors.newCachedThreadPool();
        for (String p : ports.split(",")) {
            ServerSocket server = new ServerSocket(Integer.parseInt(p), 1024, InetAddress.getLoopbackAddress());
            System.out.println("fake broker listening " + server.getLocalPort() + " fail-every=" + failEvery);
            Thread acceptor = new Thread(() -> {
                try {
                    for (int accepted = 0; accepted < 100_000; accepted++) {
                        Socket s = server.accept();
                        pool.execute(() -> serve(s));
                    }
                } catch (IOException e) {
                    System.exit(4);
                }
            });
            acceptor.start();
        }
        System.out.flush();
        long limit = maxSeconds * 1000;
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(limit);
            } catch (InterruptedException e) {
                return;
            }
            System.exit(3);
        });
        killer.setDaemon(true);
        killer.start();
    }

    private static void serve(Socket s) {
        try (s;
                Http.Client up = Http.Client.of(upstream)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(120_000);
            Http.In in = new Http.In(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                Http.Message req = Http.read(in, false);
                if (req == null) {
                    return;
                }
                String path = req.startLine.split(" ")[1];
                String form = req.bodyString();
                int status = 200;
                String body;
                if (path.equals("/q/health/ready")) {
                    body = "{\"status\":\"UP\"}";
                } else if (path.equals("/oauth2/token")) {
                    if (failEvery > 0 && tokenRequests.incrementAndGet() % failEvery == 0) {
                        status = 500;
                        body = "{\"error\":\"server_error\"}";
                    } else if ("authorization_code".equals(Http.formField(form, "grant_type"))) {
                        int st = up.send(
                                "POST",
                                "/connect/token",
                                "application/x-www-form-urlencoded",
                                ("grant_type=authorization_code&code=" + Http.enc(Http.formField(form, "code")))
                                        .getBytes(StandardCharsets.UTF_8),
                                null);
                        if (st != 200) {
                            status = 502;
                            body = "{\"error\":\"temporarily_unavailable\"}";
                        } else {
                            Session session = new Session();
                            session.upstreamRefreshToken = Http.jsonString(up.body(), "refresh_token");
                            session.secret = Upstream.randomToken(32);
                            String id = Upstream.randomToken(24);
                            sessions.put(id, session);
                            body = answer(up.body(), id + "." + session.secret);
                        }
                    } else {
                        String handle = Http.formField(form, "refresh_token");
                        int dot = handle == null ? -1 : handle.indexOf('.');
                        Session session = dot < 0 ? null : sessions.get(handle.substring(0, dot));
                        if (session == null) {
                            status = 400;
                            body = "{\"error\":\"invalid_grant\"}";
                        } else {
                            synchronized (session) {
                                if (!handle.substring(dot + 1).equals(session.secret)) {
                                    sessions.remove(handle.substring(0, dot)); // an old handle: end the session
                                    status = 400;
                                    body = "{\"error\":\"invalid_grant\",\"error_description\":\"old handle\"}";
                                } else {
                                    int st = up.send(
                                            "POST",
                                            "/connect/token",
                                            "application/x-www-form-urlencoded",
                                            ("grant_type=refresh_token&refresh_token="
                                                            + Http.enc(session.upstreamRefreshToken))
                                                    .getBytes(StandardCharsets.UTF_8),
                                            null);
                                    if (st != 200) {
                                        status = 400;
                                        body = up.body();
                                    } else {
                                        String rt = Http.jsonString(up.body(), "refresh_token");
                                        if (rt != null) {
                                            session.upstreamRefreshToken = rt;
                                        }
                                        session.secret = Upstream.randomToken(32);
                                        body = answer(up.body(), handle.substring(0, dot) + "." + session.secret);
                                    }
                                }
                            }
                        }
                    }
                } else if (path.equals("/oauth2/revoke")) {
                    String handle = Http.formField(form, "token");
                    int dot = handle == null ? -1 : handle.indexOf('.');
                    Session session = dot < 0 ? null : sessions.get(handle.substring(0, dot));
                    if (session != null
                            && handle.substring(dot + 1).equals(session.secret)
                            && sessions.remove(handle.substring(0, dot), session)) {
                        up.send(
                                "POST",
                                "/connect/revocation",
                                "application/x-www-form-urlencoded",
                                ("token=" + Http.enc(session.upstreamRefreshToken)).getBytes(StandardCharsets.UTF_8),
                                null);
                    }
                    body = "";
                } else {
                    status = 404;
                    body = "{\"error\":\"invalid_request\"}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: "
                        + b.length + "\r\n\r\n";
                out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                out.write(b);
                out.flush();
            }
        } catch (IOException e) {
            // client gone
        }
    }

    private static String answer(String upstreamBody, String handle) {
        return "{\"access_token\":\"" + Http.jsonString(upstreamBody, "access_token")
                + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"openid offline_access api\","
                + "\"refresh_token\":\"" + handle + "\"}";
    }
}
