package dev.tokenbroker.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.tokenbroker.devmode.RedisServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A Redis as managed services offer it: TLS only for the broker (a server certificate from a CA of the test's own,
 * which the JVM does not trust) and an ACL user with the least privilege README's "Redis TLS and ACL users" lists,
 * the default user switched off. Certificates come from the JDK's keytool; nothing else is needed.
 */
public class RedisTlsResource implements QuarkusTestResourceLifecycleManager {

    /** The ACL rules README's "Redis TLS and ACL users" documents for the broker's user (key prefix {@code tb:}). */
    public static final String BROKER_ACL = "~tb:* resetchannels -@all +@connection -client"
            + " +get +set +del +exists +smembers +sadd +srem +zadd +zrem +zcard +zremrangebyscore"
            + " +xadd +xlen +xrange +xreadgroup +xautoclaim +xgroup|create +xack +xdel +xclaim +xpending"
            + " +hget +hset +hdel +hmget +pexpire +pexpireat +pttl +time +eval +evalsha +wait";

    public static final String USER = "token-broker";
    public static final String PASSWORD = "acl-pw-" + Long.toHexString(System.nanoTime());
    public static final String ADMIN_PASSWORD = "admin-pw-" + Long.toHexString(System.nanoTime());

    private static RedisNode node;
    private static int tlsPort;
    private Path dir;

    @Override
    public Map<String, String> start() {
        try {
            dir = Files.createTempDirectory("tb-redis-tls");
            Path ca = TestCa.issue(dir, "redis", "dns:localhost,ip:127.0.0.1");
            tlsPort = RedisServer.freePort();
            node = RedisNode.server(
                    dir,
                    "--tls-port",
                    Integer.toString(tlsPort),
                    "--tls-cert-file",
                    dir.resolve("redis.pem").toString(),
                    "--tls-key-file",
                    dir.resolve("redis.key").toString(),
                    "--tls-ca-cert-file",
                    ca.toString(),
                    "--tls-auth-clients",
                    "no");
            List<String> acl = new ArrayList<>(List.of("ACL", "SETUSER", USER, "reset", "on", ">" + PASSWORD));
            acl.addAll(List.of(BROKER_ACL.split(" ")));
            node.call(acl.toArray(String[]::new));
            node.call("ACL", "SETUSER", "admin", "on", ">" + ADMIN_PASSWORD, "~*", "&*", "+@all");
            node.call("ACL", "SETUSER", "default", "off");
            return Map.of(
                    "quarkus.redis.hosts",
                    "rediss://localhost:" + tlsPort + "?user=" + USER,
                    "quarkus.redis.password",
                    PASSWORD,
                    "quarkus.redis.tls.enabled",
                    "true",
                    "quarkus.redis.tls.trust-certificate-pem.enabled",
                    "true",
                    "quarkus.redis.tls.trust-certificate-pem.certs",
                    ca.toString(),
                    "quarkus.redis.tls.hostname-verification-algorithm",
                    "HTTPS");
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot start Redis with TLS", e);
        }
    }

    @Override
    public void stop() {
        if (node != null) {
            node.close();
        }
    }

    /** The server, for commands as its admin user ({@link RedisNode#callAs}) on the plain port. */
    public static RedisNode node() {
        return node;
    }

    public static int tlsPort() {
        return tlsPort;
    }
}
