package dev.tokenbroker.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An HTTP proxy on loopback that tunnels {@code CONNECT host:port} (RFC 9110 §9.3.6) for a client with the right Basic
 * credentials, and nothing else. Host names are resolved from its own table only ({@code hosts}), so a name such as
 * {@code upstream.test} is reachable through the proxy and nowhere else: a client that got an answer went through it.
 */
public final class ConnectProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String expectedAuthorization;
    private final Map<String, InetAddress> hosts;
    private final List<String> tunnels = new CopyOnWriteArrayList<>();
    private final List<String> refused = new CopyOnWriteArrayList<>();

    /** @param username null: no credentials asked for (a browser's proxy: the JDK's client sends none for tunnels) */
    public ConnectProxy(String username, String password, Map<String, InetAddress> hosts) throws IOException {
        this.expectedAuthorization = username == null
                ? null
                : "Basic "
                        + Base64.getEncoder()
                                .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
        this.hosts = Map.copyOf(hosts);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "connect-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The {@code host:port} of every tunnel opened, in order. */
    public List<String> tunnels() {
        return List.copyOf(tunnels);
    }

    /** The request lines refused (407 without the credentials, 405 for anything but CONNECT, 502 unknown host). */
    public List<String> refused() {
        return List.copyOf(refused);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread handler = new Thread(() -> handle(client), "connect-proxy-tunnel");
                handler.setDaemon(true);
                handler.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            OutputStream out = client.getOutputStream();
            List<String> head = head(in);
            if (head.isEmpty()) {
                return;
            }
            String[] requestLine = head.get(0).split(" ");
            String authorization = head.stream()
                    .filter(line -> line.toLowerCase().startsWith("proxy-authorization:"))
                    .map(line -> line.substring(line.indexOf(':') + 1).trim())
                    .findFirst()
                    .orElse(null);
            if (requestLine.length != 3 || !requestLine[0].equals("CONNECT")) {
                refuse(out, head.get(0), "405 Method Not Allowed");
                return;
            }
            if (expectedAuthorization != null && !expectedAuthorization.equals(authorization)) {
                refuse(out, head.get(0), "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic");
                return;
            }
            String target = requestLine[1];
            int colon = target.lastIndexOf(':');
            InetAddress address = hosts.get(target.substring(0, colon));
            if (address == null) {
                refuse(out, head.get(0), "502 Bad Gateway");
                return;
            }
            try (Socket upstream = new Socket()) {
                upstream.connect(new InetSocketAddress(address, Integer.parseInt(target.substring(colon + 1))), 3000);
                tunnels.add(target);
                out.write("HTTP/1.1 200 Connection Established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread back = new Thread(() -> pipe(upstream, client), "connect-proxy-back");
                back.setDaemon(true);
                back.start();
                pipe(client, upstream);
                back.join(5000);
            }
        } catch (IOException | InterruptedException e) {
            // The tunnel ends with either side.
        }
    }

    private void refuse(OutputStream out, String requestLine, String status) throws IOException {
        refused.add(requestLine);
        out.write(("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** The request's head, line by line, read byte by byte so that nothing after it is consumed. */
    private static List<String> head(InputStream in) throws IOException {
        List<String> lines = new CopyOnWriteArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int total = 0; total < 16_384; total++) {
            int b = in.read();
            if (b == -1) {
                return List.of();
            }
            if (b == '\n') {
                String text = line.toString(StandardCharsets.US_ASCII).replace("\r", "");
                if (text.isEmpty()) {
                    return lines;
                }
                lines.add(text);
                line.reset();
            } else {
                line.write(b);
            }
        }
        return List.of();
    }

    private static void pipe(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            // Closed by the other side.
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
