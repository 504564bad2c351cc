package dev.tokenbroker.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * A Lua script from {@code src/main/resources/redis/<name>.lua}, whose header names its KEYS, ARGV and reply. Called
 * by its SHA-1 (EVALSHA), so its source crosses the network only when a Redis server does not know it yet (after a
 * restart or failover: NOSCRIPT, then one EVAL, which also caches it there). Every script the broker runs goes through
 * here. Scripts that read Redis' clock ({@code TIME}) before they write rely on effects replication (Redis 5 and later).
 */
public final class LuaScript {

    /** Where the scripts live on the class path. */
    private static final String DIRECTORY = "/redis/";

    private final String name;
    private final String source;
    private final String sha;

    /** The script {@code redis/<name>.lua}; fails at class initialisation when it is missing. */
    public static LuaScript named(String name) {
        try (InputStream in = LuaScript.class.getResourceAsStream(DIRECTORY + name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("no Redis script " + DIRECTORY + name + ".lua on the class path");
            }
            return new LuaScript(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private LuaScript(String name, String source) {
        this.name = name;
        this.source = source;
        try {
            this.sha = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required by the Java platform", e);
        }
    }

    /**
     * One call of a script, typed: a record per script turns its fields into the KEYS and ARGV its header names, in
     * that order, so that no caller counts positions.
     */
    public interface Call {
        List<String> keys();

        List<String> argv();
    }

    /** Runs {@code call}. */
    public Uni<Response> run(ReactiveRedisDataSource redis, Call call) {
        return run(redis, call.keys(), call.argv().toArray(String[]::new));
    }

    /** The script's text. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "LuaScript[" + name + "]";
    }

    public Uni<Response> run(ReactiveRedisDataSource redis, List<String> keys, String... args) {
        return redis.execute("EVALSHA", arguments(sha, keys, args))
                .onFailure(e -> e.getMessage() != null && e.getMessage().contains("NOSCRIPT"))
                .recoverWithUni(() -> redis.execute("EVAL", arguments(source, keys, args)));
    }

    /** The same, blocking, for callers on worker threads (the revocation outbox). */
    public Response runBlocking(RedisDataSource redis, List<String> keys, String... args) {
        try {
            return redis.execute("EVALSHA", arguments(sha, keys, args));
        } catch (RuntimeException e) {
            if (e.getMessage() == null || !e.getMessage().contains("NOSCRIPT")) {
                throw e;
            }
            return redis.execute("EVAL", arguments(source, keys, args));
        }
    }

    /**
     * Runs the script, then {@code WAIT replicas timeout}, as one batch on one connection: the node that took the
     * write is the node asked how many replicas have it (with Sentinel the current primary, with Cluster the primary
     * of the keys' slot; WAIT has no key and would otherwise go anywhere), and it costs no extra round trip. Returns
     * the script's reply and WAIT's count of acknowledging replicas.
     */
    public Uni<List<Response>> runThenWait(
            ReactiveRedisDataSource redis, List<String> keys, int replicas, long timeoutMillis, String... args) {
        Request wait = Request.cmd(Command.WAIT).arg(replicas).arg(timeoutMillis);
        return redis.getRedis()
                .batch(List.of(request(Command.EVALSHA, sha, keys, args), wait))
                .onFailure(e -> e.getMessage() != null && e.getMessage().contains("NOSCRIPT"))
                .recoverWithUni(() -> redis.getRedis().batch(List.of(request(Command.EVAL, source, keys, args), wait)));
    }

    private static Request request(Command command, String script, List<String> keys, String... args) {
        Request request = Request.cmd(command);
        for (String arg : arguments(script, keys, args)) {
            request.arg(arg);
        }
        return request;
    }

    private static String[] arguments(String script, List<String> keys, String... args) {
        List<String> all = new ArrayList<>(2 + keys.size() + args.length);
        all.add(script);
        all.add(Integer.toString(keys.size()));
        all.addAll(keys);
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }
}
