package dev.tokenbroker.upstream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.ConfiguredUpstream;
import dev.tokenbroker.config.SigningKey;
import dev.tokenbroker.error.BrokerException;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ProxyOptions;
import io.vertx.core.net.ProxyType;
import io.vertx.core.net.SSLOptions;

/**
 * The pooled HTTP client (Vert.x) of one upstream, for every call to it: token, revocation, discovery and JWKS. Owns
 * what all of them share, as that upstream's settings say: the connect timeout, the read timeout as each request's idle timeout, no redirects, and answers read up to
 * {@code broker.upstream.max-response-size} and no further, so that an upstream (or whoever answers in its name)
 * cannot make the broker buffer an answer of any size. Retries and the bound on a whole call belong to the callers.
 * A {@code tls_client_auth} client's calls go through a client of their own, alike but for the key and certificate
 * its TLS connections present.
 *
 * <p>TLS material comes from files, read into memory at start ({@code trust-certificates}, each
 * {@code tls-client-certificate}): a file changed or gone later cannot make a connection fail after a request might
 * have been sent. Every {@code tls-reload-interval} the files are read again; a changed one that checks out (the
 * checks of the start) is used for new connections, one that does not is refused with a WARN.
 */
class UpstreamHttp {

    private static final Logger LOG = Logger.getLogger(UpstreamHttp.class);
    /** A key and certificate chain, bounded as a signing key file is. */
    private static final int MAX_PEM_SIZE = 64 * 1024;
    /** A CA bundle: the system's is about 200 KB. */
    private static final int MAX_TRUST_SIZE = 4 * 1024 * 1024;

    private final ConfiguredUpstream upstream;
    private final HttpClient http;
    private final SSLOptions sslAtStart;
    private final List<Path> trustFiles;
    /** The PEM of {@code trust-certificates} in use; null for the JVM's trust store. */
    private volatile Buffer trust;
    /** By the PEM file of key and certificate. */
    private final Map<Path, MutualTls> withClientCertificate = new HashMap<>();

    /** A {@code tls_client_auth} client's own HTTP client and the PEM of key and certificate it presents. */
    private static final class MutualTls {
        final HttpClient client;
        volatile Buffer pem;

        MutualTls(HttpClient client, Buffer pem) {
            this.client = client;
            this.pem = pem;
        }
    }

    /** No connection could be had: the request certainly never left. */
    static final class NoConnection extends Exception {
        NoConnection(Throwable cause) {
            super("no connection to the upstream (" + cause.getClass().getSimpleName() + ")", cause, false, false);
        }
    }

    private final long readTimeoutMillis;
    private final long maxResponseBytes;
    private final Duration callBudget;

    /** The client of {@code configured}, with one more for each {@code tls_client_auth} client of it in {@code config}. */
    UpstreamHttp(Vertx vertx, BrokerConfig config, ConfiguredUpstream configured) {
        this.upstream = configured;
        BrokerConfig.Upstream upstream = configured.settings();
        this.trustFiles = upstream.trustCertificates().orElse(List.of());
        // UpstreamConnectivity reports the file and the reason; never fall back to the JVM's trust store.
        this.trust = trustFiles.isEmpty()
                ? null
                : readTrust()
                        .orElseThrow(() -> new IllegalStateException(
                                configured.property("trust-certificates") + " cannot be read or hold no certificate"));
        PoolOptions pool = new PoolOptions().setHttp1MaxSize(upstream.connectionPoolSize());
        this.sslAtStart = new SSLOptions(options(upstream).getSslOptions());
        this.http = vertx.createHttpClient(withTls(options(upstream), trust, null), pool);
        config.clients().values().stream()
                .filter(c -> c.authMethod() == BrokerConfig.AuthMethod.tls_client_auth
                        && c.upstream().orElse(ConfiguredUpstream.DEFAULT).equals(configured.id()))
                .flatMap(c -> c.tlsClientCertificate().stream())
                .distinct()
                // Clients reports an unreadable file at start, with the reason.
                .forEach(file -> readPem(file, MAX_PEM_SIZE)
                        .ifPresent(pem -> withClientCertificate.put(
                                file,
                                new MutualTls(
                                        vertx.createHttpClient(withTls(options(upstream), trust, pem), pool), pem))));
        this.readTimeoutMillis = upstream.readTimeout().toMillis();
        this.maxResponseBytes = upstream.maxResponseSize().asLongValue();
        this.callBudget = upstream.connectTimeout().plus(upstream.readTimeout());
        long reload = upstream.tlsReloadInterval().toMillis();
        if (reload > 0 && (!trustFiles.isEmpty() || !withClientCertificate.isEmpty())) {
            // Ordered: a slow file system cannot make two reloads overlap.
            vertx.setPeriodic(reload, reload, id -> vertx.executeBlocking(this::reloadTls, true));
        }
    }

    /** The options with this trust (null: the JVM's) and key and certificate (null: none). */
    private static HttpClientOptions withTls(HttpClientOptions options, Buffer trust, Buffer keyAndCertificate) {
        SSLOptions ssl = withTls(options.getSslOptions(), trust, keyAndCertificate);
        options.setTrustOptions(ssl.getTrustOptions());
        options.setKeyCertOptions(ssl.getKeyCertOptions());
        return options;
    }

    private static SSLOptions withTls(SSLOptions ssl, Buffer trust, Buffer keyAndCertificate) {
        return new SSLOptions(ssl)
                .setTrustOptions(trust == null ? null : new PemTrustOptions().addCertValue(trust))
                .setKeyCertOptions(
                        keyAndCertificate == null
                                ? null
                                : new PemKeyCertOptions()
                                        .setKeyValue(keyAndCertificate)
                                        .setCertValue(keyAndCertificate));
    }

    /**
     * Reads the TLS files again (blocking: a worker thread) and gives new connections what changed and checks out; the
     * new state is kept only once Vert.x took it up. Returns the number of files taken up.
     */
    synchronized int reloadTls() {
        int taken = 0;
        Buffer newTrust = trustFiles.isEmpty() ? null : readTrust().orElse(trust);
        boolean trustChanged = newTrust != null && !newTrust.equals(trust);
        if (trustChanged && update(http, newTrust, null, upstream.property("trust-certificates"))) {
            trust = newTrust;
            LOG.infof("%s read again: new connections trust %s", upstream.property("trust-certificates"), trustFiles);
            taken++;
        }
        for (Map.Entry<Path, MutualTls> entry : withClientCertificate.entrySet()) {
            Path file = entry.getKey();
            MutualTls mutualTls = entry.getValue();
            Optional<Buffer> pem = readPem(file, MAX_PEM_SIZE);
            if (pem.isEmpty()) {
                LOG.warnf("%s cannot be read: the certificate in use stays", file);
                continue;
            }
            boolean changed = !pem.get().equals(mutualTls.pem) && usableClientCertificate(file, pem.get());
            Buffer present = changed ? pem.get() : mutualTls.pem;
            if ((changed || trustChanged) && update(mutualTls.client, trust, present, file.toString())) {
                if (changed) {
                    mutualTls.pem = present;
                    LOG.infof("%s read again: new connections present its certificate", file);
                    taken++;
                }
            }
        }
        return taken;
    }

    /** Gives the client new TLS material for new connections and waits for Vert.x to take it up; false if not. */
    private boolean update(HttpClient client, Buffer trustPem, Buffer keyAndCertificate, String source) {
        // From the options made at start, so that nothing but trust and key material changes.
        SSLOptions ssl = withTls(sslAtStart, trustPem, keyAndCertificate);
        try {
            return client.updateSSLOptions(ssl, true)
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warnf(
                    "%s changed but could not be taken up (%s): the previous stays in use",
                    source, (e.getCause() == null ? e : e.getCause()).getClass().getSimpleName());
            return false;
        }
    }

    /** Checked as at start ({@code Clients}): one key, its certificate; a WARN otherwise, never key material. */
    private static boolean usableClientCertificate(Path file, Buffer pem) {
        try {
            if (SigningKey.parse(pem.getBytes(), Optional.empty()).certificate().isPresent()) {
                return true;
            }
            LOG.warnf("%s changed but holds no CERTIFICATE: the previous one stays in use", file);
        } catch (IllegalArgumentException e) {
            LOG.warnf("%s changed but %s: the previous one stays in use", file, e.getMessage());
        }
        return false;
    }

    /** Every {@code trust-certificates} file, each holding at least one certificate; empty if any does not. */
    private Optional<Buffer> readTrust() {
        Buffer all = Buffer.buffer();
        for (Path file : trustFiles) {
            Optional<Buffer> pem = readPem(file, MAX_TRUST_SIZE);
            if (pem.isEmpty() || !holdsCertificates(pem.get())) {
                LOG.warnf(
                        "%s: %s cannot be read or holds no certificate", upstream.property("trust-certificates"), file);
                return Optional.empty();
            }
            all.appendBuffer(pem.get()).appendString("\n");
        }
        return Optional.of(all);
    }

    private static boolean holdsCertificates(Buffer pem) {
        try {
            return !CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes()))
                    .isEmpty();
        } catch (CertificateException e) {
            return false;
        }
    }

    /**
     * TLS follows each endpoint's scheme, with host name verification and the JVM's trust store, or only the
     * certificate authorities of {@code trust-certificates}; through the proxy when one is configured, loopback and
     * {@code non-proxy-hosts} aside.
     */
    static HttpClientOptions options(BrokerConfig.Upstream upstream) {
        HttpClientOptions options = new HttpClientOptions()
                .setConnectTimeout((int) upstream.connectTimeout().toMillis())
                .setVerifyHost(true)
                .setKeepAlive(true);
        BrokerConfig.Upstream.Proxy proxy = upstream.proxy();
        proxy.url().ifPresent(url -> {
            ProxyOptions proxyOptions = new ProxyOptions()
                    .setType(ProxyType.HTTP)
                    .setHost(url.getHost())
                    .setPort(url.getPort() == -1 ? 80 : url.getPort());
            proxy.username().ifPresent(proxyOptions::setUsername);
            proxy.password().ifPresent(proxyOptions::setPassword);
            options.setProxyOptions(proxyOptions);
            // Loopback (plain http allowed there) never goes through the proxy: it would carry tokens in clear.
            List<String> direct = new ArrayList<>(List.of("localhost", "127.0.0.1", "[::1]"));
            proxy.nonProxyHosts().ifPresent(direct::addAll);
            options.setNonProxyHosts(direct);
        });
        return options;
    }

    /**
     * The longest any upstream call may take, start to end: connect timeout plus read timeout. The read timeout only
     * fires on silence, so callers cut a slowly trickling answer or a long wait for a pooled connection off here.
     */
    Duration callBudget() {
        return callBudget;
    }

    /** Status and body of an upstream answer; the body is read in full (within the bound) before it is handed on. */
    record Reply(int status, String body) {
        @Override
        public String toString() {
            return "Reply[status=" + status + "]";
        }
    }

    /** A request to {@code endpoint} that accepts JSON, with the read timeout as its idle timeout, no redirects. */
    RequestOptions request(HttpMethod method, String endpoint) {
        return new RequestOptions()
                .setMethod(method)
                .setAbsoluteURI(endpoint)
                .setIdleTimeout(readTimeoutMillis)
                .setFollowRedirects(false)
                .putHeader(HttpHeaders.ACCEPT, MediaType.APPLICATION_JSON);
    }

    /**
     * Sends the request ({@code body} null: none) and reads its answer up to {@code maxResponseBytes}: a larger
     * declared or streamed body resets the request and fails with a {@link BrokerException.UpstreamUnavailable}.
     * Other failures are Vert.x' own, for the caller to classify.
     */
    Uni<Reply> send(RequestOptions request, Buffer body) {
        return send(http, request, body);
    }

    /** As {@link #send(RequestOptions, Buffer)}, on a connection that presents this key and certificate if any. */
    Uni<Reply> send(Optional<Path> clientCertificate, RequestOptions request, Buffer body) {
        if (clientCertificate.isEmpty()) {
            return send(http, request, body);
        }
        MutualTls mutualTls = withClientCertificate.get(clientCertificate.get());
        return mutualTls != null
                ? send(mutualTls.client, request, body)
                : Uni.createFrom()
                        .failure(new NoConnection(
                                new IllegalStateException(clientCertificate.get() + " was not readable at start")));
    }

    /** A PEM file, whole; empty when it cannot be read or is larger than {@code limit}. */
    private static Optional<Buffer> readPem(Path file, int limit) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(limit + 1);
            if (bytes.length > limit) {
                LOG.warnf("%s is larger than %d bytes", file, limit);
                return Optional.empty();
            }
            return Optional.of(Buffer.buffer(bytes));
        } catch (IOException e) {
            // Clients reports the file at start, with the reason.
            return Optional.empty();
        }
    }

    private Uni<Reply> send(HttpClient http, RequestOptions request, Buffer body) {
        return Uni.createFrom().deferred(() -> {
            AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
            return Uni.createFrom()
                    .<Reply>emitter(emitter -> http.request(request)
                            .onFailure(e -> emitter.fail(new NoConnection(e)))
                            .onSuccess(outgoing -> {
                                sent.set(outgoing);
                                // The response's handlers are attached by a listener on the request's own response
                                // future, registered before anything is sent: it runs on the stream's context as the
                                // head arrives, ahead of the body. A listener on a composed future would run on the
                                // caller's context instead, queued behind the body ("Response already ended").
                                outgoing.response()
                                        .onFailure(emitter::fail)
                                        .onSuccess(response -> read(response, emitter));
                                (body == null ? outgoing.end() : outgoing.end(body)).onFailure(emitter::fail);
                            }))
                    // Cut off by its caller's budget: the connection must not stay with a trickling upstream.
                    .onCancellation()
                    .invoke(() -> {
                        HttpClientRequest outgoing = sent.get();
                        if (outgoing != null) {
                            outgoing.reset();
                        }
                    });
        });
    }

    /**
     * Reads the answer up to {@code maxResponseBytes}; a larger declared or streamed body resets the request. The
     * emitter fails with the reason before the reset, whose own {@code StreamResetException} then comes second and is
     * dropped; the exception handler is there before, or Vert.x would log that reset at ERROR.
     */
    private void read(HttpClientResponse response, UniEmitter<? super Reply> emitter) {
        response.exceptionHandler(emitter::fail);
        String declared = response.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (declared != null && !declaresAtMost(declared.trim(), maxResponseBytes)) {
            emitter.fail(tooLarge("declares " + declared.trim() + " bytes"));
            response.request().reset();
            return;
        }
        Buffer received = Buffer.buffer();
        response.handler(chunk -> {
            if (received.length() + chunk.length() > maxResponseBytes) {
                emitter.fail(tooLarge("is longer"));
                response.request().reset();
            } else {
                received.appendBuffer(chunk);
            }
        });
        response.endHandler(done -> emitter.complete(new Reply(
                response.statusCode(), received.length() == 0 ? null : received.toString(StandardCharsets.UTF_8))));
    }

    /** Whether a Content-Length is a number of at most {@code max}; anything else is refused like a large one. */
    private static boolean declaresAtMost(String contentLength, long max) {
        try {
            return contentLength.length() <= 18 && Long.parseLong(contentLength) <= max;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private BrokerException tooLarge(String how) {
        return new BrokerException.UpstreamUnavailable(
                "upstream answer " + how + " than " + upstream.property("max-response-size") + " allows", null, true);
    }
}
