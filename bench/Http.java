import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * Minimal HTTP/1.1 over a blocking socket, JDK only: one keep-alive connection per virtual user (client side)
 * and the request parsing of the benchmark upstream (server side). Content-Length and chunked bodies.
 * Deliberately small and allocation-light so that the load generator costs little CPU per request.
 */
final class Http {

    private Http() {}

    /**
     * The servers' accept loop (upstream, API): each connection on a daemon thread of its own, at most 2048 at once
     * (more are closed at once), and the process exits after {@code maxSeconds} whatever happens, so that no
     * benchmark server outlives its run.
     */
    static void acceptForever(ServerSocket server, String threadName, long maxSeconds, Consumer<Socket> serve)
            throws IOException {
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(maxSeconds * 1000);
            } catch (InterruptedException ignored) {
                return;
            }
            System.out.println("max-seconds reached, exiting");
            System.exit(3);
        });
        killer.setDaemon(true);
        killer.start();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, threadName);
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
                    serve.accept(s);
                } finally {
                    connections.release();
                }
            });
        }
    }

    /** A buffered reader of bytes, lines and fixed-length bodies. */
    static final class In {
        private final InputStream in;
        private final byte[] buf = new byte[16384];
        private int pos;
        private int lim;

        In(InputStream in) {
            this.in = in;
        }

        private boolean fill() throws IOException {
            pos = 0;
            lim = in.read(buf, 0, buf.length);
            if (lim <= 0) {
                lim = 0;
                return false;
            }
            return true;
        }

        /** A line without CRLF, or null at a clean end of stream before any byte. */
        String line() throws IOException {
            StringBuilder sb = null;
            while (true) {
                if (pos >= lim && !fill()) {
                    if (sb == null) {
                        return null;
                    }
                    throw new EOFException("connection closed mid-line");
                }
                int start = pos;
                while (pos < lim && buf[pos] != '\n') {
                    pos++;
                }
                if (sb == null) {
                    sb = new StringBuilder(64);
                }
                for (int i = start; i < pos; i++) {
                    sb.append((char) (buf[i] & 0xff));
                }
                if (pos < lim) {
                    pos++; // the \n
                    int n = sb.length();
                    if (n > 0 && sb.charAt(n - 1) == '\r') {
                        sb.setLength(n - 1);
                    }
                    return sb.toString();
                }
            }
        }

        byte[] bytes(int n) throws IOException {
            byte[] out = new byte[n];
            int off = 0;
            while (off < n) {
                if (pos >= lim && !fill()) {
                    throw new EOFException("connection closed mid-body");
                }
                int c = Math.min(n - off, lim - pos);
                System.arraycopy(buf, pos, out, off, c);
                pos += c;
                off += c;
            }
            return out;
        }

        int readByte() throws IOException {
            if (pos >= lim && !fill()) {
                return -1;
            }
            return buf[pos++] & 0xff;
        }
    }

    /** Headers that matter here, and the body. */
    static final class Message {
        String startLine;
        int contentLength = -1;
        boolean chunked;
        boolean close;
        String contentType;
        String location;
        String authorization;
        /** The Set-Cookie headers of an answer (web logins read the broker's cookies); null when there are none. */
        java.util.List<String> setCookies;

        byte[] body = new byte[0];

        String bodyString() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Reads headers and body of a request or response; null on a clean EOF before the start line. */
    static Message read(In in, boolean bodyUntilCloseAllowed) throws IOException {
        String start = in.line();
        if (start == null) {
            return null;
        }
        Message m = new Message();
        m.startLine = start;
        String h;
        int count = 0;
        while ((h = in.line()) != null && !h.isEmpty()) {
            if (++count > 100) {
                throw new IOException("too many headers");
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = h.substring(0, colon).trim();
            String value = h.substring(colon + 1).trim();
            if (name.equalsIgnoreCase("content-length")) {
                m.contentLength = Integer.parseInt(value);
            } else if (name.equalsIgnoreCase("transfer-encoding")) {
                m.chunked = value.toLowerCase().contains("chunked");
            } else if (name.equalsIgnoreCase("connection")) {
                m.close = value.equalsIgnoreCase("close");
            } else if (name.equalsIgnoreCase("content-type")) {
                m.contentType = value;
            } else if (name.equalsIgnoreCase("location")) {
                m.location = value;
            } else if (name.equalsIgnoreCase("authorization")) {
                m.authorization = value;
            } else if (name.equalsIgnoreCase("set-cookie")) {
                if (m.setCookies == null) {
                    m.setCookies = new java.util.ArrayList<>(2);
                }
                m.setCookies.add(value);
            }
        }
        if (h == null) {
            throw new EOFException("connection closed in headers");
        }
        if (m.chunked) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            while (true) {
                String size = in.line();
                if (size == null) {
                    throw new EOFException("closed in chunked body");
                }
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                if (n == 0) {
                    String t;
                    while ((t = in.line()) != null && !t.isEmpty()) {
                        // trailers ignored
                    }
                    break;
                }
                out.write(in.bytes(n));
                in.line();
            }
            m.body = out.toByteArray();
        } else if (m.contentLength > 0) {
            if (m.contentLength > 1 << 20) {
                throw new IOException("body too large");
            }
            m.body = in.bytes(m.contentLength);
        } else if (m.contentLength < 0 && bodyUntilCloseAllowed) {
            // A response without length and not chunked: the body runs until close. Not expected here.
            throw new IOException("response without Content-Length or chunked encoding");
        }
        return m;
    }

    /** One keep-alive client connection to a loopback server. Not thread-safe: one per virtual user. */
    static final class Client implements AutoCloseable {
        private final String host;
        private final int port;
        private final String hostHeader;
        private Socket socket;
        private In in;
        private OutputStream out;
        int status;
        Message response;

        Client(String host, int port) {
            if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")) {
                throw new IllegalArgumentException("loopback only: " + host);
            }
            this.host = host;
            this.port = port;
            this.hostHeader = host + ":" + port;
        }

        static Client of(String baseUrl) {
            java.net.URI u = java.net.URI.create(baseUrl);
            return new Client(u.getHost(), u.getPort());
        }

        private void connect() throws IOException {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            s.setSoTimeout(30_000); // a bound on every read: no request may hang the benchmark
            s.connect(new InetSocketAddress(host, port), 5_000);
            socket = s;
            in = new In(s.getInputStream());
            out = s.getOutputStream();
        }

        /** Sends one request and reads the answer; returns the status. Never retries. */
        int send(String method, String path, String contentType, byte[] body, String extraHeaders) throws IOException {
            StringBuilder sb = new StringBuilder(256);
            sb.append(method)
                    .append(' ')
                    .append(path)
                    .append(" HTTP/1.1\r\nHost: ")
                    .append(hostHeader)
                    .append("\r\n");
            if (body != null) {
                sb.append("Content-Type: ")
                        .append(contentType)
                        .append("\r\nContent-Length: ")
                        .append(body.length)
                        .append("\r\n");
            }
            if (extraHeaders != null) {
                sb.append(extraHeaders);
            }
            sb.append("\r\n");
            byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
            byte[] req;
            if (body != null && body.length > 0) {
                req = new byte[head.length + body.length];
                System.arraycopy(head, 0, req, 0, head.length);
                System.arraycopy(body, 0, req, head.length, body.length);
            } else {
                req = head;
            }
            if (socket == null) {
                connect();
            }
            try {
                return exchange(req);
            } catch (IOException e) {
                // No retry, ever: a refresh the server may have processed must not be sent twice.
                close();
                throw e;
            }
        }

        private int exchange(byte[] req) throws IOException {
            out.write(req);
            out.flush();
            Message m = read(in, true);
            if (m == null) {
                throw new EOFException("connection closed before any response byte");
            }
            String s = m.startLine;
            if (!s.startsWith("HTTP/1.")) {
                throw new IOException("bad status line");
            }
            status = Integer.parseInt(s.substring(9, 12));
            response = m;
            if (m.close) {
                close();
            }
            return status;
        }

        String body() {
            return response == null ? "" : response.bodyString();
        }

        @Override
        public void close() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
            socket = null;
        }
    }

    /** application/x-www-form-urlencoded value. */
    static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String dec(String s) {
        return java.net.URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /** The value of a form field, or null. */
    static String formField(String form, String name) {
        int i = 0;
        while (i <= form.length()) {
            int amp = form.indexOf('&', i);
            if (amp < 0) {
                amp = form.length();
            }
            int eq = form.indexOf('=', i);
            if (eq > i && eq < amp && form.regionMatches(i, name, 0, name.length()) && eq - i == name.length()) {
                return dec(form.substring(eq + 1, amp));
            }
            i = amp + 1;
        }
        return null;
    }

    /** The string value of a top-level JSON field, minimal (handles backslash escapes), or null. */
    static String jsonString(String json, String name) {
        String key = "\"" + name + "\"";
        int k = json.indexOf(key);
        while (k >= 0) {
            int p = k + key.length();
            while (p < json.length() && Character.isWhitespace(json.charAt(p))) {
                p++;
            }
            if (p < json.length() && json.charAt(p) == ':') {
                p++;
                while (p < json.length() && Character.isWhitespace(json.charAt(p))) {
                    p++;
                }
                if (p >= json.length() || json.charAt(p) != '"') {
                    return null;
                }
                StringBuilder sb = new StringBuilder();
                for (p++; p < json.length(); p++) {
                    char c = json.charAt(p);
                    if (c == '"') {
                        return sb.toString();
                    }
                    if (c == '\\' && p + 1 < json.length()) {
                        char e = json.charAt(++p);
                        switch (e) {
                            case 'n' -> sb.append('\n');
                            case 't' -> sb.append('\t');
                            case 'r' -> sb.append('\r');
                            case 'b' -> sb.append('\b');
                            case 'f' -> sb.append('\f');
                            case 'u' -> {
                                sb.append((char) Integer.parseInt(json.substring(p + 1, p + 5), 16));
                                p += 4;
                            }
                            default -> sb.append(e);
                        }
                    } else {
                        sb.append(c);
                    }
                }
                return null;
            }
            k = json.indexOf(key, k + 1);
        }
        return null;
    }
}
