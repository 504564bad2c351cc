package dev.tokenbroker.devmode;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for dev mode and tests, on a loopback port, that can be stopped and started again with its data
 * (append-only file). Where a Docker engine is reachable it runs in a Testcontainers container; otherwise a
 * {@code redis-server} process: from PATH if installed, else the Linux binary shipped inside
 * {@code com.github.codemonstur:embedded-redis}. Those libraries are {@code provided}-scoped: this class is
 * never loaded by the packaged application.
 */
public final class RedisServer implements AutoCloseable {

    private static final String EMBEDDED_BINARY = "redis-server-6.2.6-v5-linux-amd64";

    private final int port;
    private final Path dataDir;
    private Process process;
    private GenericContainer<?> container;

    private RedisServer(int port, Path dataDir) {
        this.port = port;
        this.dataDir = dataDir;
    }

    /** Starts a new server on a free port with an empty data directory. */
    public static RedisServer start() {
        try {
            return start(freePort(), Files.createTempDirectory("tb-redis"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot start Redis", e);
        }
    }

    /** Starts a server on {@code port} that keeps its data in {@code dataDir}. */
    public static RedisServer start(int port, Path dataDir) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dataDir, e);
        }
        RedisServer server = new RedisServer(port, dataDir);
        server.resume();
        return server;
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Stops the server; its data stays on disk for {@link #resume()}. */
    public synchronized void stop() {
        if (container != null) {
            container.getDockerClient().stopContainerCmd(container.getContainerId()).exec();
        } else if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
        awaitPort(false);
    }

    /** Starts the server (again) on the same port, reloading what it had written. */
    public synchronized void resume() {
        if (container != null) {
            container.getDockerClient().startContainerCmd(container.getContainerId()).exec();
        } else if (dockerAvailable()) {
            container = new GenericContainer<>("redis:7-alpine")
                    .withCommand("redis-server", "--appendonly", "yes", "--appendfsync", "always")
                    .withExposedPorts(6379);
            container.setPortBindings(List.of(port + ":6379"));
            container.start();
        } else {
            try {
                process = new ProcessBuilder(executable().toString(), "--port", Integer.toString(port),
                        "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                        "--dir", dataDir.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(dataDir.resolve("redis.log").toFile())
                        .start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start redis-server", e);
            }
        }
        awaitPort(true);
    }

    @Override
    public synchronized void close() {
        stop();
        if (container != null) {
            container.stop();
            container = null;
        }
    }

    static boolean dockerAvailable() {
        // Ask Testcontainers only where an engine may be: it logs an ERROR for every strategy that fails.
        if (System.getenv("DOCKER_HOST") == null && !Files.exists(Path.of("/var/run/docker.sock"))
                && !Files.exists(Path.of(System.getProperty("user.home"), ".testcontainers.properties"))) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    private static Path executable() throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(dir, "redis-server");
            if (!dir.isEmpty() && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        Path target = Path.of("target", "redis", EMBEDDED_BINARY).toAbsolutePath();
        synchronized (RedisServer.class) {
            if (!Files.isExecutable(target)) {
                Files.createDirectories(target.getParent());
                try (InputStream in = RedisServer.class.getResourceAsStream("/" + EMBEDDED_BINARY)) {
                    if (in == null) {
                        throw new IllegalStateException("no redis-server on PATH and " + EMBEDDED_BINARY
                                + " is not on the test classpath (com.github.codemonstur:embedded-redis)");
                    }
                    Path tmp = Files.createTempFile(target.getParent(), "redis", ".tmp");
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    tmp.toFile().setExecutable(true);
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        }
        return target;
    }

    /** Whether something accepts connections on the loopback port. */
    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void awaitPort(boolean open) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (listening(port) == open) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("Redis on port " + port + " did not " + (open ? "open" : "close"));
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
