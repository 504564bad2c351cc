import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A minimal blocking Redis client speaking RESP2 on one loopback socket (JDK only). Not thread-safe. */
final class Resp implements AutoCloseable {

    private final Socket socket;
    private final Http.In in;
    private final OutputStream out;

    Resp(int port) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(30_000);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        in = new Http.In(socket.getInputStream());
        out = new BufferedOutputStream(socket.getOutputStream(), 8192);
    }

    /** Sends one command and returns its reply: String, Long, byte[]-as-String, List, or throws on -ERR. */
    Object call(String... args) throws IOException {
        StringBuilder sb = new StringBuilder(64);
        sb.append('*').append(args.length).append("\r\n");
        for (String a : args) {
            byte[] b = a.getBytes(StandardCharsets.UTF_8);
            sb.append('$').append(b.length).append("\r\n").append(a).append("\r\n");
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        return reply();
    }

    private Object reply() throws IOException {
        String line = in.line();
        if (line == null || line.isEmpty()) {
            throw new EOFException("redis closed the connection");
        }
        char t = line.charAt(0);
        String rest = line.substring(1);
        switch (t) {
            case '+':
                return rest;
            case '-':
                throw new IOException("redis error: " + rest);
            case ':':
                return Long.parseLong(rest);
            case '$': {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    return null;
                }
                byte[] b = in.bytes(n);
                in.line();
                return new String(b, StandardCharsets.UTF_8);
            }
            case '*': {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    return null;
                }
                List<Object> list = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    list.add(reply());
                }
                return list;
            }
            default:
                throw new IOException("unexpected RESP type " + t);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
