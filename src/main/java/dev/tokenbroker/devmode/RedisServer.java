package dev.tokenbroker.devmode;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for dev mode and tests, on a loopback port, that can be stopped and started again with its data
 * (append-only file). A {@code redis-server} process: from PATH if installed, else the binary for this OS and
 * architecture shipped inside {@code com.github.codemonstur:embedded-redis} (Linux amd64/arm64/386, macOS amd64/arm64,
 * Windows amd64). Only on a platform with neither, a Testcontainers container, where a Docker engine is reachable: a
 * process starts in milliseconds and pulls nothing, where a container waits for an image (and Testcontainers' own) that
 * a machine without registry access never gets. Those libraries are {@code provided}-scoped: this class is never
 * loaded by the packaged application.
 */
public final class RedisServer implements AutoCloseable {

    /** {@link #freePort()}'s range (with bus ports 10000-31999, below any ephemeral range) and what it handed out. */
    private static final int FIRST_PORT = 10_000;

    private static final int PORTS = 12_000;
    private static final int CLUSTER_BUS_OFFSET = 10_000;
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private static final String CONTAINER_IMAGE = "redis:7-alpine";

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
            container
                    .getDockerClient()
                    .stopContainerCmd(container.getContainerId())
                    .exec();
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
            container
                    .getDockerClient()
                    .startContainerCmd(container.getContainerId())
                    .exec();
        } else if (!processAvailable() && dockerAvailable()) {
            container = new GenericContainer<>(CONTAINER_IMAGE)
                    .withCommand("redis-server", "--appendonly", "yes", "--appendfsync", "always")
                    .withExposedPorts(6379);
            container.setPortBindings(List.of(port + ":6379"));
            container.start();
        } else {
            try {
                process = new ProcessBuilder(
                                executable().toString(),
                                "--port",
                                Integer.toString(port),
                                "--bind",
                                "127.0.0.1",
                                "--save",
                                "",
                                "--appendonly",
                                "yes",
                                "--appendfsync",
                                "always",
                                "--dir",
                                dataDir.toString())
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

    /** What runs this server, for dev mode's walk-through: the {@code redis-server} process's binary, or the image. */
    @Override
    public synchronized String toString() {
        if (container != null) {
            return "a " + CONTAINER_IMAGE + " container";
        }
        try {
            return "a redis-server process: " + executable();
        } catch (IOException | RuntimeException e) {
            return "a redis-server process";
        }
    }

    /** Whether {@link #executable()} has a binary: on PATH, or embedded for this OS and architecture. */
    static boolean processAvailable() {
        String osName = System.getProperty("os.name");
        return embeddedBinary(osName, System.getProperty("os.arch")).isPresent()
                || pathCandidates(System.getenv().getOrDefault("PATH", ""), File.pathSeparator, osName).stream()
                        .anyMatch(p -> Files.isRegularFile(p) && Files.isExecutable(p));
    }

    static boolean dockerAvailable() {
        // Ask Testcontainers only where an engine may be: it logs an ERROR for every strategy that fails.
        if (!dockerMayBeReachable(
                System.getenv(),
                Path.of(System.getProperty("user.home")),
                System.getProperty("os.name"),
                Files::exists)) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    /**
     * Whether a Docker engine may be reachable, by the places Testcontainers' strategies look: {@code DOCKER_HOST},
     * {@code ~/.testcontainers.properties}, the Linux socket, Docker Desktop's sockets on macOS and Linux
     * ({@code ~/.docker/run/docker.sock}, {@code ~/.docker/desktop/docker.sock}), rootless Docker
     * ({@code $XDG_RUNTIME_DIR/docker.sock}), Colima and Rancher Desktop, and the Windows named pipe.
     */
    static boolean dockerMayBeReachable(Map<String, String> env, Path home, String osName, Predicate<Path> exists) {
        if (env.get("DOCKER_HOST") != null || exists.test(home.resolve(".testcontainers.properties"))) {
            return true;
        }
        if (osName.toLowerCase(Locale.ROOT).startsWith("windows")) {
            return exists.test(Path.of("\\\\.\\pipe\\docker_engine"));
        }
        List<Path> sockets = new ArrayList<>(List.of(
                Path.of("/var/run/docker.sock"),
                home.resolve(".docker/run/docker.sock"),
                home.resolve(".docker/desktop/docker.sock"),
                home.resolve(".colima/default/docker.sock"),
                home.resolve(".rd/docker.sock")));
        if (env.get("XDG_RUNTIME_DIR") != null) {
            sockets.add(Path.of(env.get("XDG_RUNTIME_DIR"), "docker.sock"));
        }
        return sockets.stream().anyMatch(exists);
    }

    /**
     * The {@code redis-server} binary that {@code com.github.codemonstur:embedded-redis} 1.4.3 ships for an OS and
     * architecture ({@code os.name}, {@code os.arch}), or empty when it ships none.
     */
    static Optional<String> embeddedBinary(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i486", "i586", "i686" -> "386";
            default -> "";
        };
        if (os.startsWith("linux")) {
            return switch (arch) {
                case "amd64" -> Optional.of("redis-server-6.2.6-v5-linux-amd64");
                case "arm64" -> Optional.of("redis-server-6.2.7-linux-arm64");
                case "386" -> Optional.of("redis-server-6.2.7-linux-386");
                default -> Optional.empty();
            };
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return arch.equals("amd64") || arch.equals("arm64")
                    ? Optional.of("redis-server-6.2.6-v5-darwin-" + arch)
                    : Optional.empty();
        }
        if (os.startsWith("windows")) {
            return arch.equals("amd64") ? Optional.of("redis-server-5.0.14.1-windows-amd64.exe") : Optional.empty();
        }
        return Optional.empty();
    }

    /** Where to look for {@code redis-server} on PATH: with {@code .exe} on Windows. */
    static List<Path> pathCandidates(String path, String pathSeparator, String osName) {
        List<String> names = osName.toLowerCase(Locale.ROOT).startsWith("windows")
                ? List.of("redis-server.exe", "redis-server")
                : List.of("redis-server");
        List<Path> candidates = new ArrayList<>();
        for (String dir : path.split(Pattern.quote(pathSeparator))) {
            if (!dir.isEmpty()) {
                names.forEach(name -> candidates.add(Path.of(dir, name)));
            }
        }
        return candidates;
    }

    /**
     * The {@code redis-server} binary this class runs as a process (PATH first, then the embedded one), for tests that
     * start several servers of one topology (Sentinel, Cluster) themselves.
     */
    public static Path executable() throws IOException {
        String osName = System.getProperty("os.name");
        for (Path candidate : pathCandidates(System.getenv().getOrDefault("PATH", ""), File.pathSeparator, osName)) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        String binary = embeddedBinary(osName, System.getProperty("os.arch"))
                .orElseThrow(() -> new IllegalStateException(
                        "no redis-server on PATH, and com.github.codemonstur:embedded-redis ships no "
                                + "binary for " + osName + " " + System.getProperty("os.arch")
                                + ": install redis-server"));
        Path target = Path.of("target", "redis", binary).toAbsolutePath();
        synchronized (RedisServer.class) {
            if (!Files.isExecutable(target)) {
                Files.createDirectories(target.getParent());
                try (InputStream in = RedisServer.class.getResourceAsStream("/" + binary)) {
                    if (in == null) {
                        throw new IllegalStateException("no redis-server on PATH and " + binary
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
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
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

    /**
     * A port free now for another process to bind soon after, whose port + 10000 (a Redis Cluster node's bus port) is
     * free too. Both are below the kernels' ephemeral ranges (Linux from 32768, macOS and Windows from 49152), where
     * outgoing connections get their local ports: a port the kernel hands out ({@code new ServerSocket(0)}) could be
     * taken by one of them before that process binds it, which made a test broker fail to start with "port in use".
     * Never the same port twice in one JVM, neither as a port nor as a bus port.
     */
    public static synchronized int freePort() {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int candidate = FIRST_PORT + ThreadLocalRandom.current().nextInt(PORTS);
            int bus = candidate + CLUSTER_BUS_OFFSET;
            if (HANDED_OUT.contains(candidate) || HANDED_OUT.contains(bus)) {
                continue;
            }
            try (ServerSocket socket = new ServerSocket(candidate);
                    ServerSocket busSocket = new ServerSocket(bus)) {
                HANDED_OUT.add(candidate);
                HANDED_OUT.add(bus);
                return candidate;
            } catch (IOException inUse) {
                // Try another.
            }
        }
        throw new IllegalStateException("no free port in " + FIRST_PORT + "-" + (FIRST_PORT + PORTS - 1));
    }
}
