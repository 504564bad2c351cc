package dev.tokenbroker.support;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.tokenbroker.devmode.RedisServer;

/**
 * One {@code redis-server} process on a loopback port, with the arguments a topology needs ({@code --cluster-enabled},
 * {@code --replicaof}, {@code --sentinel}), found as dev mode finds it ({@link RedisServer#executable()}), and a
 * blocking one-command-per-connection client for setting the topology up and asking it what it did.
 */
public final class RedisNode implements AutoCloseable {

    private final int port;
    private final Path dir;
    private final List<String> command;
    private Process process;

    private RedisNode(int port, Path dir, List<String> command) {
        this.port = port;
        this.dir = dir;
        this.command = command;
    }

    /** A server with these extra arguments; {@code --port}, {@code --bind} and {@code --dir} are added. */
    public static RedisNode server(Path dir, String... args) throws IOException {
        int port = RedisServer.freePort();
        List<String> command = new ArrayList<>(List.of(
                RedisServer.executable().toString(),
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                dir.toString()));
        command.addAll(List.of(args));
        return new RedisNode(port, dir, command).start();
    }

    /** A Sentinel: its configuration file holds {@code lines} (Sentinel rewrites that file, so it is its own). */
    public static RedisNode sentinel(Path dir, List<String> lines) throws IOException {
        int port = RedisServer.freePort();
        Path conf = dir.resolve("sentinel-" + port + ".conf");
        List<String> all = new ArrayList<>(List.of("port " + port, "bind 127.0.0.1", "dir " + dir));
        all.addAll(lines);
        Files.write(conf, all);
        List<String> command = List.of(RedisServer.executable().toString(), conf.toString(), "--sentinel");
        return new RedisNode(port, dir, command).start();
    }

    private RedisNode start() throws IOException {
        Files.createDirectories(dir);
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("redis-" + port + ".log").toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                call("PING");
                return this;
            } catch (IOException e) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("redis-server on port " + port + " did not start: " + log(), e);
                }
                sleep(20);
            }
        }
    }

    /** Starts the process again with the same arguments and data directory, as Kubernetes restarts a pod. */
    public void restart() throws IOException {
        kill();
        start();
    }

    public int port() {
        return port;
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public boolean alive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: the process dies at once, as a crashed machine would, without a final write to its replicas. */
    public void kill() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        kill();
    }

    /** The value of one {@code field:value} line of {@code INFO section}, or "" when absent. */
    public String info(String section, String field) throws IOException {
        for (String line : ((String) call("INFO", section)).split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        return "";
    }

    /**
     * Sends one command on a new connection and returns the reply: String (simple or bulk), Long, List, or null;
     * an error reply throws.
     */
    public Object call(String... args) throws IOException {
        return calls(List.of(args));
    }

    /** Like {@link #call}, after {@code AUTH user password} on the same connection (a server with ACL users). */
    public Object callAs(String user, String password, String... args) throws IOException {
        return calls(List.of("AUTH", user, password), List.of(args));
    }

    /** Like {@link #call}; on a Cluster node after READONLY on the same connection, so that a replica answers itself. */
    public Object callReplica(String... args) throws IOException {
        return info("cluster", "cluster_enabled").equals("1")
                ? calls(List.of("READONLY"), List.of(args))
                : calls(List.of(args));
    }

    @SafeVarargs
    private Object calls(List<String>... commands) throws IOException {
        try (Socket socket = new Socket()) {
            socket.setSoTimeout(5_000);
            socket.connect(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 2_000);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            InputStream in = new BufferedInputStream(socket.getInputStream());
            Object last = null;
            for (List<String> args : commands) {
                out.write(("*" + args.size() + "\r\n").getBytes(StandardCharsets.UTF_8));
                for (String arg : args) {
                    byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
                    out.write(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
                    out.write(bytes);
                    out.write("\r\n".getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
                last = reply(in);
            }
            return last;
        }
    }

    private static Object reply(InputStream in) throws IOException {
        String line = line(in);
        String rest = line.substring(1);
        return switch (line.charAt(0)) {
            case '+' -> rest;
            case '-' -> throw new IOException("redis error: " + rest);
            case ':' -> Long.parseLong(rest);
            case '$' -> {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    yield null;
                }
                byte[] bytes = in.readNBytes(n + 2);
                yield new String(bytes, 0, n, StandardCharsets.UTF_8);
            }
            case '*' -> {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    yield null;
                }
                List<Object> items = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    items.add(reply(in));
                }
                yield items;
            }
            default -> throw new IOException("unexpected reply " + line);
        };
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new EOFException("redis closed the connection");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("redis-" + port + ".log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
