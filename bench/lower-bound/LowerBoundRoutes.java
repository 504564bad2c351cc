package dev.tokenbroker.api;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * NOT PART OF THE BROKER. A measuring stick for bench/run.sh (see bench/README.md, "Lower bound"): copied into
 * src/main/java it answers two of the benchmark's rows ahead of RESTEasy and the broker's code, in the same process,
 * with the same HTTP server, Redis client, metrics and JVM options, doing only the I/O:
 *
 * <ul>
 *   <li>{@code POST /oauth2/revoke}: read the body, one Redis {@code GET}, answer 200 (the unknown-handle revoke's
 *       one round trip);
 *   <li>{@code POST /oauth2/token}: read the body, Redis {@code GET}, a form POST to the upstream (its revocation
 *       endpoint, which answers every token with 200), Redis {@code SET}, answer a small token-shaped JSON (the upstream-bound
 *       refresh's three round trips).
 * </ul>
 *
 * No parsing, validation, encryption, scripts, JAX-RS, log line or broker metrics: what these rows cost is what the
 * stack costs before any of the broker's work.
 */
@Singleton
class LowerBoundRoutes {

    void install(
            @Observes Router router,
            ReactiveRedisDataSource redis,
            Vertx vertx,
            @ConfigProperty(name = "broker.upstream.revocation-endpoint", defaultValue = "http://127.0.0.1:9/")
                    String upstream) {
        HttpClient http = vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true), new PoolOptions().setHttp1MaxSize(64));
        String answer = "{\"access_token\":\"" + "a".repeat(200) + "\",\"token_type\":\"Bearer\",\"expires_in\":300,"
                + "\"refresh_token\":\"" + "r".repeat(60) + "\"}";
        router.post("/oauth2/revoke")
                .order(Integer.MIN_VALUE)
                .handler(ctx -> withBody(
                        ctx,
                        body -> redis.execute("GET", "tb:lower-bound:" + body.length())
                                .subscribe()
                                .with(
                                        found -> ctx.response()
                                                .putHeader("Cache-Control", "no-store")
                                                .end(),
                                        ctx::fail)));
        router.post("/oauth2/token")
                .order(Integer.MIN_VALUE)
                .handler(ctx -> withBody(ctx, body -> {
                    String key = "tb:lower-bound:" + body.toString().hashCode();
                    redis.execute("GET", key)
                            .subscribe()
                            .with(
                                    found -> http.request(new RequestOptions()
                                                    .setMethod(HttpMethod.POST)
                                                    .setAbsoluteURI(upstream)
                                                    .putHeader("Content-Type", "application/x-www-form-urlencoded")
                                                    .putHeader("Accept", "application/json"))
                                            .compose(request -> request.send(Buffer.buffer(
                                                    "token=" + "t".repeat(43) + "&token_type_hint=refresh_token")))
                                            .compose(response -> response.statusCode() == 200
                                                    ? response.body()
                                                    : Future.failedFuture("upstream answered " + response.statusCode()))
                                            .onFailure(ctx::fail)
                                            .onSuccess(reply -> redis.execute("SET", key, "s".repeat(300), "EX", "60")
                                                    .subscribe()
                                                    .with(
                                                            stored -> ctx.response()
                                                                    .putHeader("Cache-Control", "no-store")
                                                                    .putHeader("Content-Type", "application/json")
                                                                    .end(answer),
                                                            ctx::fail)),
                                    ctx::fail);
                }));
    }

    /** Quarkus' HTTP server pauses the request before routing: read the whole body, then go on. */
    private static void withBody(RoutingContext ctx, Handler<Buffer> then) {
        ctx.request().body().onFailure(ctx::fail).onSuccess(then);
        ctx.request().resume();
    }
}
