package dev.tokenbroker.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * A Lua script called by its SHA-1 (EVALSHA), so its source crosses the network only when a Redis server does not
 * know it yet (after a restart or failover: NOSCRIPT, then one EVAL, which also caches it there).
 */
final class LuaScript {

    private final String source;
    private final String sha;

    LuaScript(String source) {
        this.source = source;
        try {
            this.sha = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required by the Java platform", e);
        }
    }

    /** The script's text (tests check which keys it touches). */
    String source() {
        return source;
    }

    Uni<Response> run(ReactiveRedisDataSource redis, List<String> keys, String... args) {
        return redis.execute("EVALSHA", arguments(sha, keys, args))
                .onFailure(e -> e.getMessage() != null && e.getMessage().contains("NOSCRIPT"))
                .recoverWithUni(() -> redis.execute("EVAL", arguments(source, keys, args)));
    }

    /**
     * Runs the script, then {@code WAIT replicas timeout}, as one batch on one connection: the node that took the
     * write is the node asked how many replicas have it (with Sentinel the current primary, with Cluster the primary
     * of the keys' slot; WAIT has no key and would otherwise go anywhere), and it costs no extra round trip. Returns
     * the script's reply and WAIT's count of acknowledging replicas.
     */
    Uni<List<Response>> runThenWait(
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
