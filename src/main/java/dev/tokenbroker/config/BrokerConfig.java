package dev.tokenbroker.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * All broker settings, under {@code broker.*}. Every property can also be set as an environment
 * variable: upper-case it and replace {@code .} and {@code -} with {@code _}
 * ({@code broker.clients.clover.client-secret} becomes {@code BROKER_CLIENTS_CLOVER_CLIENT_SECRET}).
 * Rules beyond single values are checked at startup by {@link Clients}, the key ring and the upstream metadata,
 * each failing with a message that names the property.
 */
@ConfigMapping(prefix = "broker")
public interface BrokerConfig {

    /**
     * The default upstream authorization server: the one of every client that names no other. Optional when every
     * client names one of {@link #upstreams()}.
     */
    Upstream upstream();

    /**
     * Further upstreams (realms, tenants, a partner's provider), keyed by an id of your choice
     * ({@code [a-z0-9][a-z0-9-]{0,31}}, not {@code default}), each with the settings of {@code broker.upstream.*}. A
     * client names its upstream with {@code upstream}.
     */
    Map<String, Upstream> upstreams();

    /** The front-end clients, keyed by a name of your choice. No default: at least one is required. */
    Map<String, Client> clients();

    /** Sessions in Redis. */
    Session session();

    /**
     * The URL front ends use to reach the broker, e.g. {@code https://tokens.example.com} (behind an ingress the
     * broker cannot see it). DPoP proofs must name it in {@code htu}; required when any client uses DPoP. No default.
     */
    Optional<URI> externalBaseUrl();

    /** DPoP proof checks (RFC 9449), for clients with {@code dpop} other than {@code off}. */
    Dpop dpop();

    interface Dpop {
        /** JWS algorithms accepted for proofs; asymmetric only. Default {@code ES256,ES384,ES512,PS256,RS256,EdDSA}. */
        @WithDefault("ES256,ES384,ES512,PS256,RS256,EdDSA")
        Set<String> allowedAlgorithms();

        /** How old a proof's {@code iat} may be. Default {@code 60s}. */
        @WithDefault("60s")
        Duration maxAge();

        /** Tolerated clock difference between front end and broker, either way. Default {@code 5s}. */
        @WithDefault("5s")
        Duration clockSkew();
    }

    interface Upstream {
        /**
         * Issuer URL of the upstream OpenID provider. The broker reads
         * {@code {issuer}/.well-known/openid-configuration} for the token, revocation and JWKS endpoints,
         * retrying until it succeeds. No default; either this or {@code token-endpoint} is required.
         */
        Optional<URI> issuer();

        /** Token endpoint; overrides discovery. No default. */
        Optional<URI> tokenEndpoint();

        /** RFC 7009 revocation endpoint; overrides discovery. No default: without one, upstream revocation is skipped. */
        Optional<URI> revocationEndpoint();

        /** Time to open a connection to the upstream. Default {@code 3s}. */
        @WithDefault("3s")
        Duration connectTimeout();

        /** Time to wait for the upstream's answer. Default {@code 10s}. */
        @WithDefault("10s")
        Duration readTimeout();

        /**
         * PEM files of the certificate authorities the upstream's TLS certificate must chain to, such as a company's
         * own CA; when set, they replace the JVM's trust store for upstream calls (token, revocation, discovery,
         * JWKS). No default: the JVM's trust store.
         */
        Optional<List<Path>> trustCertificates();

        /** An HTTP proxy for every upstream call. */
        Proxy proxy();

        interface Proxy {
            /** {@code http://host:port} of the proxy; https upstreams are tunnelled with CONNECT. No default: none. */
            Optional<URI> url();

            /** User name for the proxy's Basic authentication. No default. */
            Optional<String> username();

            /** Password for the proxy's Basic authentication; from a secret, never logged. No default. */
            Optional<String> password();

            /**
             * Upstream hosts reached directly, not through the proxy; {@code *.example.com} matches subdomains. No
             * default.
             */
            Optional<List<String>> nonProxyHosts();
        }

        /** Maximum open connections to the upstream, and to it for each {@code tls_client_auth} client. Default {@code 100}. */
        @WithDefault("100")
        int connectionPoolSize();

        /**
         * Largest upstream answer (token, revocation, discovery) the broker reads; larger ones are refused (502).
         * Default {@code 64K}.
         */
        @WithDefault("64K")
        MemorySize maxResponseSize();

        /**
         * Hosts that discovered endpoints may point at (lower case); others fail discovery. No default: any host,
         * as long as the endpoint is https (or loopback).
         */
        Optional<Set<String>> allowedHosts();

        /** Pause between discovery attempts while discovery fails. Default {@code 10s}. */
        @WithDefault("10s")
        Duration discoveryRetryInterval();

        /**
         * How often the broker reads {@code trust-certificates} and every {@code tls-client-certificate} again; a
         * changed file that checks out is used for new connections, one that does not is refused with a WARN and the
         * one in use kept. {@code 0s}: read only at start. Default {@code 1m}.
         */
        @WithDefault("1m")
        Duration tlsReloadInterval();
    }

    interface Client {
        /** The OAuth {@code client_id}, registered at the upstream and sent by the front end. No default. */
        String clientId();

        /**
         * The client secret registered at the upstream, for {@code client_secret_basic} and {@code client_secret_post}.
         * No default: set it from a secret or environment variable.
         */
        Optional<String> clientSecret();

        /**
         * Instead of {@code client-secret}: a file holding the secret (a mounted Kubernetes Secret; a line break at its
         * end is dropped), read at start and again every {@code tls-reload-interval} of the client's upstream, so that
         * a rotated secret needs no restart. No default.
         */
        Optional<Path> clientSecretFile();

        /** Redirect URIs the front end may use, compared exactly. No default. */
        List<String> redirectUris();

        /**
         * The id of the upstream in {@code broker.upstreams} this client is registered at. Default: the default
         * upstream, {@code broker.upstream.*}.
         */
        Optional<String> upstream();

        /** How the broker authenticates to the upstream. Default {@code client_secret_basic}. */
        @WithDefault("client_secret_basic")
        AuthMethod authMethod();

        /**
         * {@code private_key_jwt}: files holding the keys that sign the client's assertions (RFC 7523 §2.2), each a PEM
         * PKCS#8 {@code PRIVATE KEY} (an EC key with its {@code PUBLIC KEY} or {@code CERTIFICATE} in the same file), a
         * JWK with its private members, or a PKCS#12 key store with one key and its certificate. The first signs; all are published at {@code /oauth2/jwks?client_id=<id>}, so a rotation
         * lists the new key second until the upstream has fetched it, then first. No default.
         */
        Optional<List<Path>> privateKeys();

        /** Opens the PKCS#12 files among {@code private-keys}; from a secret, never logged. Default: none (empty). */
        Optional<String> privateKeysPassword();

        /**
         * {@code private_key_jwt}: the assertions' JWS algorithm, {@code RS256} or {@code PS256} for RSA keys (2048
         * bits or more), {@code ES256} for EC P-256 keys. Default: RS256 for RSA keys, ES256 for EC keys.
         */
        Optional<SigningKey.Algorithm> signingAlgorithm();

        /**
         * {@code private_key_jwt}: the assertions' {@code aud}, the upstream's {@code token-endpoint} (OIDC Core §9;
         * also on revocation calls), its {@code issuer} (needs {@code broker.upstream.issuer}), or the
         * {@code endpoint} called. Default {@code token-endpoint}.
         */
        @WithDefault("token-endpoint")
        AssertionAudience assertionAudience();

        /**
         * {@code tls_client_auth}: a PEM file with the client's PKCS#8 {@code PRIVATE KEY} and its {@code CERTIFICATE}
         * (then any intermediates), presented on every token and revocation call (RFC 8705 §2.1). No default.
         */
        Optional<Path> tlsClientCertificate();

        /**
         * Whether every refresh answers with a new handle and retires the one presented (RFC 9700 §4.14.2). A retired
         * handle presented after {@code broker.session.rotation-grace} ends the session as stolen. Default
         * {@code true} for native clients, {@code false} for web clients: a browser whose one {@code Set-Cookie} was
         * lost would otherwise present the retired handle after the grace and be logged out as a thief.
         */
        Optional<Boolean> rotateHandles();

        /**
         * DPoP binding of the client's handles (RFC 9449): {@code off} ignores nothing and binds nothing (a DPoP header
         * is refused), {@code optional} binds a session when its code exchange carries a valid proof, {@code required}
         * refuses exchanges without one. A bound session's refreshes and revocations need a proof by the same key.
         * Default {@code off}.
         */
        @WithDefault("off")
        DpopMode dpop();

        /**
         * Most sessions one user ({@code sub} of the ID token) may hold for this client at once. A code exchange that
         * would exceed it ends the user's oldest sessions of this client (reason {@code max_sessions}: upstream refresh
         * token revoked, audit line), keeping the new one. Costs one index read plus one read per session of that user
         * at each code exchange of this client; nothing on refresh. No default: unlimited.
         */
        OptionalInt maxSessionsPerUser();

        /**
         * {@code native}: the front end runs the authorization request and holds the broker's handle; {@code web}:
         * the broker runs the whole flow at {@code /bff/*} and the browser holds only an HttpOnly session cookie.
         * Default {@code native}.
         */
        @WithDefault("native")
        ClientMode mode();

        /**
         * Who makes the PKCE pair of a native client: {@code app} (it sends {@code code_verifier}) or {@code broker}
         * ({@code POST /oauth2/authorization-request}, then a code exchange with {@code state} and no verifier).
         * Default {@code app}.
         */
        @WithDefault("app")
        PkceMode pkce();

        /**
         * Pushed authorization requests (RFC 9126) for the logins the broker starts (web mode, {@code pkce=broker}):
         * {@code auto} pushes them when discovery finds {@code pushed_authorization_request_endpoint}, so the browser
         * carries only {@code client_id} and {@code request_uri}; {@code required} refuses to start a login without
         * that endpoint; {@code off} never pushes. Default {@code auto}.
         */
        @WithDefault("auto")
        ParMode par();

        /** Scope the broker asks for when it starts the authorization request. Default {@code openid offline_access}. */
        @WithDefault("openid offline_access")
        String scope();

        /**
         * Browser origins ({@code https://app.example}, no path) that may call {@code /oauth2/*} and, for web clients,
         * {@code /bff/*} (with credentials) from JavaScript. No default: no cross-origin calls.
         */
        Optional<List<String>> allowedOrigins();

        /**
         * Where {@code /bff/login} may send the browser back: exact URLs, or origins ({@code https://app.example})
         * that allow any path there. The first entry is the default. No default; required for web clients.
         */
        Optional<List<String>> returnTo();

        /** SameSite of the web session cookie: {@code strict} or {@code lax}. Default {@code strict}. */
        @WithDefault("strict")
        SameSite cookieSameSite();

        /** Sent as {@code post_logout_redirect_uri} in the logout URL {@code /bff/logout} returns. No default. */
        Optional<String> postLogoutRedirectUri();

        /**
         * Web mode: whether {@code POST /bff/token} gives the page the session's access token ({@code on}: a
         * token-mediating backend, draft-ietf-oauth-browser-based-apps §6.2) or refuses with 403 ({@code off}: a BFF
         * whose pages reach their APIs only through {@code /bff/api/<name>/...} and never hold a token, §6.1).
         * Default {@code on}, which is what web clients did before this setting existed.
         */
        @WithDefault("on")
        Toggle tokenEndpoint();

        /**
         * Web mode: the APIs the browser calls through {@code /bff/api/<name>/...}, with the session's access token
         * attached by the broker. No default: none.
         */
        Map<String, Api> apis();

        /**
         * Requests this client may make to {@code /oauth2/token} and {@code /oauth2/revoke}, from all addresses
         * together, across all replicas. No default: unlimited.
         */
        Limit rateLimit();
    }

    /** Configured in lower case ({@code native}, {@code web}); {@code native} is a Java keyword, hence upper case here. */
    enum ClientMode {
        /** The front end holds the handle and calls {@code /oauth2/*}. */
        NATIVE,
        /** The broker holds everything; the browser gets an HttpOnly cookie from {@code /bff/*}. */
        WEB
    }

    /** Configured as {@code on} or {@code off}. */
    enum Toggle {
        ON,
        OFF
    }

    /** An API behind the BFF's proxy: {@code /bff/api/<name>/<rest>} goes to {@code <url>/<rest>}. */
    interface Api {
        /** The API's base URL, with any path prefix: https, or plain http on loopback. No default. */
        URI url();

        /** Methods the browser may use, upper case; others get 405. Default GET, HEAD, POST, PUT, PATCH, DELETE. */
        @WithDefault("GET,HEAD,POST,PUT,PATCH,DELETE")
        Set<String> methods();

        /**
         * Request headers passed to the API (lower case), besides {@code Authorization}, which the broker sets. Never
         * the browser's cookies or {@code X-CSRF}.
         */
        @WithDefault(
                "accept,accept-encoding,accept-language,content-type,if-match,if-none-match,if-modified-since,range")
        Set<String> requestHeaders();

        /** Response headers passed to the browser (lower case); never the API's {@code Set-Cookie}. */
        @WithDefault("cache-control,content-disposition,content-encoding,content-language,content-range,content-type,"
                + "etag,expires,last-modified,location,retry-after,vary,www-authenticate")
        Set<String> responseHeaders();

        /** Time to connect to the API, and the longest pause in its answer: 504 after. Default {@code 30s}. */
        @WithDefault("30s")
        Duration timeout();

        /** Largest request body passed on (declared or streamed): 413 above. Default {@code 1M}. */
        @WithDefault("1M")
        MemorySize maxRequestBody();

        /** Largest answer with a declared length passed on: 502 above. Default {@code 64M}. */
        @WithDefault("64M")
        MemorySize maxResponseBody();
    }

    /** Configured as {@code auto}, {@code required} or {@code off}. */
    enum ParMode {
        AUTO,
        REQUIRED,
        OFF
    }

    /** Configured as {@code app} or {@code broker}. */
    enum PkceMode {
        APP,
        BROKER
    }

    /** Configured as {@code strict} or {@code lax}; {@link #attribute} is how the cookie spells it. */
    enum SameSite {
        STRICT("Strict"),
        LAX("Lax");

        public final String attribute;

        SameSite(String attribute) {
            this.attribute = attribute;
        }
    }

    /** The browser flows: {@code /bff/*} and broker-held PKCE. */
    Web web();

    interface Web {
        /**
         * How long an authorization request the broker started (its state, nonce and PKCE verifier) may take to come
         * back; each is usable once. Default {@code 10m}.
         */
        @WithDefault("10m")
        Duration transactionLifetime();

        /** {@code POST /bff/token} refreshes when the access token it holds expires within this. Default {@code 30s}. */
        @WithDefault("30s")
        Duration refreshMargin();

        /**
         * Bounds on {@code GET /bff/login} and {@code POST /oauth2/authorization-request}: each stores a transaction
         * for {@code transaction-lifetime}, needs no credential, and any web page can make its visitors' browsers start
         * one. On by default, in addition to the client's own rate limits.
         */
        AuthorizationRequests authorizationRequests();
    }

    interface AuthorizationRequests {
        /** Per client and source address (IPv6 by {@code /64}), at once and per {@code period}. Default 30; 0: none. */
        @WithDefault("30")
        int perAddress();

        /**
         * Per client, from all addresses together, at once and per {@code period}. Default 600; 0: none. At most
         * per-client × (1 + transaction-lifetime / period) transactions of a client are stored at once: 6,600 by
         * default.
         */
        @WithDefault("600")
        int perClient();

        /** Default {@code 1m}. */
        @WithDefault("1m")
        Duration period();
    }

    /** Abuse controls on {@code /oauth2/token} and {@code /oauth2/revoke}, shared by all replicas through Redis. */
    RateLimit rateLimit();

    interface RateLimit {
        /**
         * Proxies (addresses or CIDR blocks, e.g. {@code 10.0.0.0/8}) whose {@code X-Forwarded-For} is believed: the
         * source address is the rightmost entry that is not one of them. No default: the peer address counts and
         * {@code X-Forwarded-For} is ignored.
         */
        Optional<List<String>> trustedProxies();

        /**
         * Requests one source address may make per client (IPv6 addresses counted by {@code /64}). No default:
         * unlimited.
         */
        Limit perAddress();

        /**
         * What a code exchange that ends in {@code invalid_grant} (the upstream's, or a redirect URI mismatch) costs,
         * in requests, so that replayed codes cannot make the broker call the upstream without bound. Default
         * {@code 10}.
         */
        @WithDefault("10")
        int failedExchangeCost();
    }

    /**
     * A token bucket: {@code requests} at once, refilled at {@code requests} per {@code period} (GCRA in Redis).
     */
    interface Limit {
        /** Burst size and requests per period. No default: no limit. */
        OptionalInt requests();

        /** Default {@code 1m}. */
        @WithDefault("1m")
        Duration period();
    }

    enum DpopMode {
        off,
        optional,
        required
    }

    /** Constants spelled as in RFC 7591 {@code token_endpoint_auth_method}, so config values match them exactly. */
    enum AuthMethod {
        /** RFC 6749 §2.3.1 HTTP Basic, id and secret form-url-encoded first. */
        client_secret_basic,
        /** Id and secret in the form body. */
        client_secret_post,
        /** A JWT the broker signs with the client's private key (RFC 7523 §2.2, OIDC Core §9). */
        private_key_jwt,
        /** Mutual TLS with the client's certificate, issued by a CA the upstream trusts (RFC 8705 §2.1). */
        tls_client_auth
    }

    enum AssertionAudience {
        /** The token endpoint, on token and revocation calls alike (OIDC Core §9; Keycloak, Entra ID). */
        TOKEN_ENDPOINT,
        /** The issuer (Auth0). */
        ISSUER,
        /** The endpoint called: the token or the revocation endpoint (Okta). */
        ENDPOINT
    }

    interface Session {
        /**
         * AES-256 keys that encrypt stored refresh tokens, by key id, each the base64 of 32 random bytes.
         * Old keys stay here to decrypt what they wrote. No default; required in the prod profile
         * (dev and test generate an ephemeral key when none is set).
         */
        Map<String, String> encryptionKeys();

        /** Key id used for new writes; must name one of {@code encryption-keys}. No default. */
        Optional<String> encryptionKeyId();

        /** Absolute lifetime of a session from the code exchange. Default {@code 30d}. */
        @WithDefault("30d")
        Duration maxLifetime();

        /**
         * A session not refreshed for this long ends; every refresh slides it, never past {@code max-lifetime}.
         * Default {@code 14d}.
         */
        @WithDefault("14d")
        Duration idleTimeout();

        /**
         * How long a just-retired handle still answers, with exactly what it answered first (same access token, same
         * new handle): absorbs a lost response and an app that fires two refreshes at once. Default {@code 30s}.
         */
        @WithDefault("30s")
        Duration rotationGrace();

        /** A refresh arriving this soon after a completed refresh of the same session gets that result again. Default {@code 5s}. */
        @WithDefault("5s")
        Duration refreshReuseWindow();

        /**
         * Also keeps each session's last refresh answer in the session's record, where brokers before the answer had a
         * key of its own read it: {@code true} for a rolling update from such a broker (or a rollback to one), so that
         * its replicas still answer retries and waiting callers; back to {@code false} in a second rolling update once
         * none runs. Costs the answer's size per session in use (README, "Sessions in Redis"). Default {@code false}.
         */
        @WithDefault("false")
        boolean keepAnswerInRecord();

        /** Prefix of every Redis key the broker writes; no braces (Redis Cluster hash tags). Default {@code tb:}. */
        @WithDefault("tb:")
        String keyPrefix();

        /**
         * Redis replicas that must hold a session write (a code exchange's new session, a refresh's commit with its
         * rotated upstream refresh token and handle) before the broker answers: after the write, {@code WAIT} on the
         * same connection, in the same round trip. A primary that dies later then cannot take with it a rotation the
         * client and the upstream already acted on. Fewer acknowledgements within {@code replication-timeout} are
         * answered normally, logged (WARN) and counted in {@code broker_redis_replication_shortfall_total}.
         * Default {@code 0}: no {@code WAIT} (standalone Redis).
         */
        @WithDefault("0")
        int minReplicasAcked();

        /** How long {@code WAIT} may hold a write's answer for {@code min-replicas-acked}. Default {@code 500ms}. */
        @WithDefault("500ms")
        Duration replicationTimeout();
    }

    /** Upstream revocations that failed, kept in Redis and retried by whichever replica is up. */
    Outbox outbox();

    /**
     * The revocation outbox ({@code dev.tokenbroker.session.RevocationOutbox}): a refresh token whose upstream
     * revocation failed is retried with exponential backoff until the upstream confirms or the attempts run out.
     */
    interface Outbox {
        /** Pause between two polls of the outbox by each replica. Default {@code 5s}. */
        @WithDefault("5s")
        Duration pollInterval();

        /** Wait after the first failed attempt; doubled after each further failure. Default {@code 10s}. */
        @WithDefault("10s")
        Duration initialBackoff();

        /** Longest wait between two attempts. Default {@code 1h}. */
        @WithDefault("1h")
        Duration maxBackoff();

        /**
         * Upstream attempts per refresh token, the immediate one at revocation included; after the last failure
         * the broker gives up on it (a WARN and {@code broker_revocation_outbox_given_up_total}). Default {@code 20}.
         */
        @WithDefault("20")
        int maxAttempts();

        /** Most entries one replica takes per poll. Default {@code 50}. */
        @WithDefault("50")
        int batchSize();

        /**
         * How long an entry taken by a replica that neither finished nor rescheduled it (it died) waits before
         * another replica takes it over. Keep it above {@code broker.upstream.connect-timeout} +
         * {@code read-timeout}, or a slow but live attempt may be repeated by another replica (harmless: RFC 7009
         * revocation is idempotent, but it is a second call). Default {@code 60s}.
         */
        @WithDefault("60s")
        Duration claimIdle();
    }

    /** The OIDC Back-Channel Logout 1.0 receiver at {@code POST /oidc/backchannel-logout}. */
    BackchannelLogout backchannelLogout();

    /**
     * How logout tokens are checked. They are verified against the upstream's JWKS from discovery
     * ({@code broker.upstream.issuer}); without it every logout token is refused.
     */
    interface BackchannelLogout {
        /** Oldest accepted logout token {@code iat}; each token's {@code jti} is remembered this long plus twice the skew. Default {@code 5m}. */
        @WithDefault("5m")
        Duration maxAge();

        /** Tolerated clock difference between the upstream and the broker, for {@code iat} and {@code exp}. Default {@code 30s}. */
        @WithDefault("30s")
        Duration clockSkew();

        /**
         * A token (logout or ID token) signed with a key id the kept JWKS does not hold makes the broker fetch the
         * JWKS again, at most once per this interval, so forged key ids cannot make it hammer the upstream. At least
         * {@code 1m}. Default {@code 1m}.
         */
        @WithDefault("1m")
        Duration jwksRefetchInterval();

        /**
         * Most logout tokens handled at once per replica; more wait up to {@code broker.upstream.read-timeout} for
         * their turn, then get 503 and the upstream retries. Bounds the Redis and upstream load of a logout storm.
         * Default {@code 8}.
         */
        @WithDefault("8")
        int maxConcurrent();
    }

    /** The session admin API on Quarkus' management interface; off unless {@code issuer}, {@code jwks-uri} and {@code audience} are all set. */
    Admin admin();

    /**
     * Who may call the admin API: bearer JWTs from this issuer, signed by a key of this JWKS with an asymmetric
     * algorithm, for this audience, granting {@code required-scope} (in {@code scope}/{@code scp}) or holding it as a
     * role ({@code groups}, {@code roles}). Without all three of issuer, JWKS and audience the routes are not
     * registered: the API is off, never open.
     */
    interface Admin {
        /** Issuer ({@code iss}) of admin tokens. No default. */
        Optional<String> issuer();

        /** JWKS URL with the keys that sign admin tokens. No default. */
        Optional<URI> jwksUri();

        /** Audience an admin token must name in {@code aud}. No default. */
        Optional<String> audience();

        /** Scope or role an admin token must carry. Default {@code token-broker:admin}. */
        @WithDefault("token-broker:admin")
        String requiredScope();
    }
}
