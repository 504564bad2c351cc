package dev.tokenbroker.api;

import java.net.URI;
import java.time.Duration;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;

/**
 * NOT PART OF THE BROKER. A measuring stick for bench/run.sh (see bench/README.md, "Lower bound"): copied into
 * src/main/java it answers the benchmark's revoke, refresh, exchange and API proxy rows ahead of RESTEasy and the
 * broker's code, in the same process, with the same HTTP server, Redis client, metrics and JVM options, doing only
 * the I/O:
 *
 * <ul>
 *   <li>{@code POST /oauth2/revoke}: read the body, one Redis {@code GET}, answer 200 (the unknown-handle revoke's
 *       one round trip);
 *   <li>{@code POST /oauth2/token}: read the body, Redis {@code GET}, a form POST to the upstream (its revocation
 *       endpoint, which answers every token with 200), Redis {@code SET}, answer a small token-shaped JSON (the upstream-bound
 *       refresh's three round trips); on a broker with a refresh reuse window, only the {@code GET} (a refresh
 *       answered from the window: one round trip);
 *   <li>{@code POST /oauth2/token} with {@code grant_type=authorization_code}: read the body, the same form POSTed to
 *       the upstream's token endpoint (the code exchange itself; its answer is read whole, not parsed), a Redis
 *       {@code SET} of the session and one of the code's record, answer the same JSON (the exchange's three hops: the
 *       upstream, the new session, the code that must not be redeemed twice; the broker waits for one more Redis round
 *       trip, its two index entries before the session, and sends one more it does not wait for);
 *   <li>{@code /bff/api/bench/*}: one Redis {@code GET} (the session record's round trip), then the request forwarded
 *       to the bench API through Vert.x's {@code ProxyRequest}/{@code ProxyResponse} with a bearer token, as the
 *       broker's API proxy does (the proxied call's two hops).
 * </ul>
 *
 * No parsing, validation, encryption, scripts, JAX-RS, log line or broker metrics: what these rows cost is what the
 * stack costs before any of the broker's work.
 */
@Singleton
class LowerBoundRoutes {

    /** What the bench API takes for one of the bench upstream's access tokens: its JOSE header, then anything. */
    private static final String BEARER =
            "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImJlbmNoIn0." + "p".repeat(300) + ".s";

    void install(
            @Observes Router router,
            ReactiveRedisDataSource redis,
            Vertx vertx,
            @ConfigProperty(name = "broker.upstream.revocation-endpoint", defaultValue = "http://127.0.0.1:9/")
                    String upstream,
            @ConfigProperty(name = "broker.upstream.token-endpoint", defaultValue = "http://127.0.0.1:9/")
                    String tokenEndpoint,
            @ConfigProperty(name = "broker.session.refresh-reuse-window", defaultValue = "0s") Duration reuseWindow,
            @ConfigProperty(name = "broker.clients.web.apis.bench.url", defaultValue = "http://127.0.0.1:9/api")
                    URI api) {
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
        router.route("/bff/api/bench/*").order(Integer.MIN_VALUE).handler(ctx -> proxy(ctx, redis, http, api));
        router.post("/oauth2/token")
                .order(Integer.MIN_VALUE)
                .handler(ctx -> withBody(ctx, body -> {
                    String key = "tb:lower-bound:" + body.toString().hashCode();
                    if (body.toString().contains("grant_type=authorization_code")) {
                        exchange(ctx, body, key, redis, http, tokenEndpoint, answer);
                        return;
                    }
                    if (!reuseWindow.isZero()) {
                        redis.execute("GET", key).subscribe().with(found -> tokenAnswer(ctx, answer), ctx::fail);
                        return;
                    }
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
                                                    .with(stored -> tokenAnswer(ctx, answer), ctx::fail)),
                                    ctx::fail);
                }));
    }

    private static void exchange(
            RoutingContext ctx,
            Buffer body,
            String key,
            ReactiveRedisDataSource redis,
            HttpClient http,
            String tokenEndpoint,
            String answer) {
        http.request(new RequestOptions()
                        .setMethod(HttpMethod.POST)
                        .setAbsoluteURI(tokenEndpoint)
                        .putHeader("Content-Type", "application/x-www-form-urlencoded")
                        .putHeader("Accept", "application/json")
                        .putHeader("Authorization", "Basic YmVuY2g6YmVuY2gtc2VjcmV0")) // bench:bench-secret
                .compose(request -> request.send(body))
                .compose(response -> response.statusCode() == 200
                        ? response.body()
                        : Future.failedFuture("upstream answered " + response.statusCode()))
                .onFailure(ctx::fail)
                .onSuccess(reply -> redis.execute("SET", key, "s".repeat(300), "EX", "60")
                        .chain(() -> redis.execute("SET", key + ":code", "c".repeat(40), "EX", "60"))
                        .subscribe()
                        .with(stored -> tokenAnswer(ctx, answer), ctx::fail));
    }

    private static void proxy(RoutingContext ctx, ReactiveRedisDataSource redis, HttpClient http, URI api) {
        ProxyRequest proxied = ProxyRequest.reverseProxy(ctx.request());
        String cookie = String.valueOf(ctx.request().getHeader("Cookie"));
        Context context = Vertx.currentContext();
        redis.execute("GET", "tb:lower-bound:" + cookie.hashCode())
                .subscribe()
                .with(
                        found -> context.runOnContext(v -> {
                            proxied.setURI(
                                    api.getRawPath() + ctx.request().path().substring("/bff/api/bench".length()));
                            proxied.setAuthority(HostAndPort.create(api.getHost(), api.getPort()));
                            proxied.headers().remove("Cookie");
                            proxied.putHeader("Authorization", BEARER);
                            http.request(new RequestOptions()
                                            .setHost(api.getHost())
                                            .setPort(api.getPort()))
                                    .compose(proxied::send)
                                    .onFailure(ctx::fail)
                                    .onSuccess(ProxyResponse::send);
                        }),
                        ctx::fail);
    }

    private static void tokenAnswer(RoutingContext ctx, String answer) {
        ctx.response()
                .putHeader("Cache-Control", "no-store")
                .putHeader("Content-Type", "application/json")
                .end(answer);
    }

    /** Quarkus' HTTP server pauses the request before routing: read the whole body, then go on. */
    private static void withBody(RoutingContext ctx, Handler<Buffer> then) {
        ctx.request().body().onFailure(ctx::fail).onSuccess(then);
        ctx.request().resume();
    }
}
