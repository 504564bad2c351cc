package dev.tokenbroker.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes arbitrary bytes to the broker over a plain socket and parses whatever HTTP/1.1 responses come back. No HTTP
 * client library in between: they refuse to send most of what a fuzzer wants to send.
 */
final class RawHttp {

    /** Longest a test waits for a well-framed request's answer: the broker answers these in milliseconds. */
    static final int ANSWER_TIMEOUT_MILLIS = 10_000;
    /** How long to listen when a request may legitimately get no answer (the server waits for bytes never sent). */
    static final int STALL_TIMEOUT_MILLIS = 150;

    private static final int MAX_READ = 1 << 20;

    private RawHttp() {}

    /** One parsed response: status, headers (names lower-cased, values joined by ", "), body bytes. */
    // Raw bytes as they came: never compared or hashed as a record.
    @SuppressWarnings("ArrayRecordComponent")
    record Response(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return status + " " + headers + " " + Escape.text(body, 300);
        }
    }

    /** What came back for one request: every complete response, and whether the server closed or went silent. */
    @SuppressWarnings("ArrayRecordComponent")
    record Exchange(List<Response> responses, boolean closedByServer, byte[] raw) {}

    /**
     * Sends {@code request} (in {@code slices} pieces with {@code pauseMillis} between them when above 1) and reads
     * until the server closes the connection or stays silent for {@code silenceMillis}.
     */
    static Exchange send(int port, byte[] request, int slices, int pauseMillis, int silenceMillis) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(silenceMillis);
            socket.setTcpNoDelay(true);
            socket.setSoLinger(true, 0);
            OutputStream out = socket.getOutputStream();
            try {
                writeSliced(out, request, slices, pauseMillis);
            } catch (IOException e) {
                // The server may answer and close before the whole request is written (413, 431): read what it said.
            }
            ByteArrayOutputStream read = new ByteArrayOutputStream();
            boolean closed = false;
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            try {
                while (read.size() < MAX_READ) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        closed = true;
                        break;
                    }
                    read.write(buffer, 0, n);
                }
            } catch (SocketTimeoutException e) {
                // Silent: the server waits for more (a truncated body) or keeps the connection alive.
            } catch (IOException e) {
                closed = true; // reset by the server
            }
            byte[] raw = read.toByteArray();
            return new Exchange(parse(raw), closed, raw);
        }
    }

    private static void writeSliced(OutputStream out, byte[] request, int slices, int pauseMillis) throws IOException {
        int n = Math.max(1, Math.min(slices, request.length));
        int from = 0;
        for (int i = 1; i <= n; i++) {
            int to = (int) ((long) request.length * i / n);
            out.write(request, from, to - from);
            out.flush();
            from = to;
            if (i < n && pauseMillis > 0) {
                try {
                    TimeUnit.MILLISECONDS.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
            }
        }
    }

    /** Every complete response in {@code raw}; 1xx interim responses are skipped; a cut-off last one is dropped. */
    static List<Response> parse(byte[] raw) {
        List<Response> responses = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length) {
            int headEnd = indexOf(raw, pos, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            if (headEnd < 0) {
                break;
            }
            String head = new String(raw, pos, headEnd - pos, StandardCharsets.ISO_8859_1);
            String[] lines = head.split("\r\n");
            String[] statusLine = lines[0].split(" ", 3);
            // Netty answers in the protocol version the request named, however odd ("HTVP/1.1"): only the status
            // counts.
            if (statusLine.length < 2 || !statusLine[1].matches("[1-5][0-9][0-9]")) {
                throw new IllegalStateException("not an HTTP response: " + Escape.text(raw, 200));
            }
            int status = Integer.parseInt(statusLine[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.merge(
                            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                            lines[i].substring(colon + 1).trim(),
                            (a, b) -> a + ", " + b);
                }
            }
            int bodyStart = headEnd + 4;
            byte[] body;
            int next;
            String length = headers.get("content-length");
            if (status / 100 == 1 || status == 204 || status == 304) {
                body = new byte[0];
                next = bodyStart;
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                ByteArrayOutputStream chunks = new ByteArrayOutputStream();
                int p = bodyStart;
                while (true) {
                    int lineEnd = indexOf(raw, p, new byte[] {'\r', '\n'});
                    if (lineEnd < 0) {
                        return responses;
                    }
                    int size = Integer.parseInt(
                            new String(raw, p, lineEnd - p, StandardCharsets.US_ASCII).split(";")[0].trim(), 16);
                    p = lineEnd + 2;
                    if (size == 0) {
                        int trailerEnd = indexOf(raw, p, new byte[] {'\r', '\n'});
                        p = trailerEnd < 0 ? raw.length : trailerEnd + 2;
                        break;
                    }
                    if (p + size > raw.length) {
                        return responses;
                    }
                    chunks.write(raw, p, size);
                    p += size + 2;
                }
                body = chunks.toByteArray();
                next = p;
            } else if (length != null) {
                int n = Integer.parseInt(length);
                if (bodyStart + n > raw.length) {
                    break;
                }
                body = java.util.Arrays.copyOfRange(raw, bodyStart, bodyStart + n);
                next = bodyStart + n;
            } else {
                body = java.util.Arrays.copyOfRange(raw, bodyStart, raw.length);
                next = raw.length;
            }
            if (status / 100 != 1) {
                responses.add(new Response(status, headers, body));
            }
            pos = next;
        }
        return responses;
    }

    private static int indexOf(byte[] data, int from, byte[] pattern) {
        outer:
        for (int i = from; i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
