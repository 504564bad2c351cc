package dev.tokenbroker.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.tokenbroker.devmode.RedisServer;

/**
 * The packaged broker ({@code target/quarkus-app/quarkus-run.jar}, prod profile) in a process of its own,
 * configured only through environment variables, as a container would be.
 */
public final class BrokerProcess implements AutoCloseable {

    private static final Path JAR = Path.of("target", "quarkus-app", "quarkus-run.jar");

    private final Process process;
    private final Path output;
    private final int port;
    private final int managementPort;

    private BrokerProcess(Process process, Path output, int port, int managementPort) {
        this.process = process;
        this.output = output;
        this.port = port;
        this.managementPort = managementPort;
    }

    /**
     * The environment every packaged broker of a test needs, to add clients and upstream to: the Redis at
     * {@code redisUri} and one all-zero encryption key {@code k1} (replicas sharing a Redis must share the key).
     */
    public static Map<String, String> baseEnv(String redisUri) {
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_REDIS_HOSTS", redisUri);
        env.put("BROKER_SESSION_ENCRYPTION_KEYS_K1", Base64.getEncoder().encodeToString(new byte[32]));
        env.put("BROKER_SESSION_ENCRYPTION_KEY_ID", "k1");
        return env;
    }

    /**
     * {@link #baseEnv} plus this upstream's token and revocation endpoints and the app client {@code clover} (secret
     * {@code env-secret}, redirect {@code clover://auth-callback}), as the multi-replica tests run it.
     */
    public static Map<String, String> appEnv(String redisUri, String tokenEndpoint, String revocationEndpoint) {
        Map<String, String> env = baseEnv(redisUri);
        env.put("BROKER_UPSTREAM_TOKEN_ENDPOINT", tokenEndpoint);
        env.put("BROKER_UPSTREAM_REVOCATION_ENDPOINT", revocationEndpoint);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", "clover");
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "env-secret");
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", "clover://auth-callback");
        return env;
    }

    public static BrokerProcess launch(Map<String, String> env) throws IOException {
        return launch(env, RedisServer.freePort());
    }

    /** On a public port chosen beforehand: for an upstream that must know the broker's URL before it starts. */
    public static BrokerProcess launch(Map<String, String> env, int port) throws IOException {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run ./mvnw verify (package runs before this test)");
        }
        // Replicas on one host need a management port each, as they need an HTTP port each.
        int managementPort = RedisServer.freePort();
        Path output = Files.createTempFile("broker-", ".log");
        ProcessBuilder builder = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx256m",
                        "-jar",
                        JAR.toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().putAll(env);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        builder.environment().put("QUARKUS_HTTP_HOST", "127.0.0.1");
        builder.environment().put("QUARKUS_MANAGEMENT_PORT", Integer.toString(managementPort));
        builder.environment().put("QUARKUS_MANAGEMENT_HOST", "127.0.0.1");
        return new BrokerProcess(builder.start(), output, port, managementPort);
    }

    /** The public port: the API only. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The management interface: health, metrics and (when configured) the admin API. */
    public String managementUrl() {
        return "http://127.0.0.1:" + managementPort;
    }

    /** The URL of a health check ({@code ready}, {@code live}, {@code started}): the one place that knows its port. */
    public String healthUrl(String check) {
        return managementUrl() + "/q/health/" + check;
    }

    /** Waits until readiness is UP; fails with the process output if it exits or takes too long. */
    public BrokerProcess awaitReady() throws Exception {
        return awaitHealth("ready");
    }

    /** Waits until the HTTP server answers, ready or not. */
    public BrokerProcess awaitListening() throws Exception {
        return awaitHealth("live");
    }

    /** SIGTERM, as Kubernetes sends it to a pod being deleted; returns at once. */
    public void terminate() {
        process.destroy();
    }

    /** SIGKILL ({@code kill -9}): no shutdown hook runs; waits until the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new AssertionError("broker survived SIGKILL");
        }
    }

    /** Resident set size of the broker process in KiB, from {@code /proc} (Linux). */
    public long rssKib() throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status")).stream()
                .filter(line -> line.startsWith("VmRSS:"))
                .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no VmRSS for " + process.pid()));
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    private BrokerProcess awaitHealth(String check) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("broker exited with " + process.exitValue() + ":\n" + output());
            }
            try {
                HttpResponse<Void> r = http.send(
                        HttpRequest.newBuilder(URI.create(healthUrl(check)))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return this;
                }
            } catch (IOException e) {
                // not listening yet
            }
            process.waitFor(100, TimeUnit.MILLISECONDS);
        }
        throw new AssertionError("broker " + healthUrl(check) + " not UP within 60 s:\n" + output());
    }

    /** Waits for the process to exit on its own and returns its exit code. */
    public int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("broker did not exit");
        }
        return process.exitValue();
    }

    public String output() throws IOException {
        return Files.readString(output);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
