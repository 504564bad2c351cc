package dev.tokenbroker.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import dev.tokenbroker.devmode.RedisServer;
import io.restassured.path.json.JsonPath;

/**
 * A real Keycloak (the distribution from Maven Central, unpacked into {@code target/} by the {@code interop} profile)
 * in a process of its own: {@code kc.sh start-dev} on 127.0.0.1 and a free port, its dev-file database wiped at each
 * start, the realm {@code src/test/resources/keycloak/interop-realm.json} imported. Logs a user in over plain HTTP
 * (the login form, no browser) to get authorization codes. With {@link Https}, it also serves https on a second port,
 * with a certificate of the test's own CA, and asks clients for certificates of that CA (mutual TLS).
 */
public final class KeycloakServer implements AutoCloseable {

    public static final String REALM = "interop";
    /** A second realm, a second upstream: its client has a back-channel logout URL ({@code ${BROKER_BACKCHANNEL_LOGOUT_URL}}). */
    public static final String PARTNER_REALM = "partner";
    /** The master realm's administrator, made at start ({@code KC_BOOTSTRAP_ADMIN_*}), for the admin API. */
    private static final String ADMIN = "interop-admin";

    private static final String ADMIN_PASSWORD = "interop-admin-password-7f1e";
    private static final Pattern LOGIN_FORM = Pattern.compile("<form[^>]*id=\"kc-form-login\"[^>]*>");
    private static final Pattern ACTION = Pattern.compile("action=\"([^\"]+)\"");

    private final Process process;
    private final Path output;
    private final int port;
    private final int httpsPort;
    private final Optional<Https> https;

    private KeycloakServer(Process process, Path output, int port, int httpsPort, Optional<Https> https) {
        this.process = process;
        this.output = output;
        this.port = port;
        this.httpsPort = httpsPort;
        this.https = https;
    }

    /**
     * The https side: Keycloak's certificate and key (PEM) and a PKCS#12 trust store, password {@link TestCa#PASSWORD},
     * with the CA whose client certificates it accepts.
     */
    public record Https(Path certificate, Path key, Path trustStore) {}

    /** Starts Keycloak from {@code -Dkeycloak.home} and waits (up to {@code -Dkeycloak.start-timeout} s) for the realm. */
    public static KeycloakServer start() throws Exception {
        return start(Map.of(), Optional.empty());
    }

    /**
     * As {@link #start()}, with environment variables for the realm file's {@code ${...}} placeholders, and https
     * besides http when asked.
     */
    public static KeycloakServer start(Map<String, String> placeholders, Optional<Https> https) throws Exception {
        Path home = Path.of(System.getProperty("keycloak.home", "target/keycloak/keycloak"));
        if (!Files.isExecutable(home.resolve("bin/kc.sh"))) {
            throw new IllegalStateException(home + "/bin/kc.sh is missing: run ./mvnw verify -Pinterop");
        }
        deleteTree(home.resolve("data"));
        Path imports = Files.createDirectories(home.resolve("data/import"));
        for (String file : List.of("interop-realm.json", "partner-realm.json")) {
            try (InputStream realm = KeycloakServer.class.getResourceAsStream("/keycloak/" + file)) {
                Files.copy(realm, imports.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        int port = RedisServer.freePort();
        int httpsPort = RedisServer.freePort();
        Path output = Files.createTempFile("keycloak-", ".log");
        List<String> command = new ArrayList<>(List.of(
                home.resolve("bin/kc.sh").toString(),
                "start-dev",
                "--http-host=127.0.0.1",
                "--http-port=" + port,
                "--http-management-port=" + RedisServer.freePort(),
                "--import-realm"));
        https.ifPresent(tls -> command.addAll(List.of(
                "--https-port=" + httpsPort,
                "--https-certificate-file=" + tls.certificate(),
                "--https-certificate-key-file=" + tls.key(),
                "--https-client-auth=request",
                "--https-trust-store-file=" + tls.trustStore(),
                "--https-trust-store-password=" + TestCa.PASSWORD)));
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().putAll(placeholders);
        builder.environment().put("JAVA_HOME", javaHome());
        builder.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN);
        builder.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
        builder.environment().put("JAVA_OPTS_KC_HEAP", "-Xms64m -Xmx512m");
        KeycloakServer keycloak = new KeycloakServer(builder.start(), output, port, httpsPort, https);
        keycloak.awaitRealm(Duration.ofSeconds(Long.getLong("keycloak.start-timeout", 300)));
        return keycloak;
    }

    /**
     * Keycloak 26 needs Java 21 or later; the broker's build runs on 17. {@code -Dkeycloak.java.home}, else the test's
     * own JVM when it is recent enough, else the newest JDK of 21 or later under {@code /usr/lib/jvm}.
     */
    static String javaHome() throws IOException {
        String configured = System.getProperty("keycloak.java.home", "");
        if (!configured.isBlank()) {
            return configured;
        }
        if (Runtime.version().feature() >= 21) {
            return System.getProperty("java.home");
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> homes = Files.list(jvms)) {
                Optional<Path> found = homes.filter(h -> featureVersion(h) >= 21)
                        .max(Comparator.comparingInt(KeycloakServer::featureVersion));
                if (found.isPresent()) {
                    return found.get().toString();
                }
            }
        }
        throw new IllegalStateException("Keycloak needs Java 21 or later: set -Dkeycloak.java.home");
    }

    private static int featureVersion(Path home) {
        try {
            Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(home.resolve("release")));
            return m.find() && Files.isExecutable(home.resolve("bin/java")) ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    public String issuer() {
        return issuer(REALM);
    }

    public String issuer(String realm) {
        return "http://127.0.0.1:" + port + "/realms/" + realm;
    }

    /**
     * Ends every session of {@code username} in {@code realm} through the admin API, as an administrator (or the user
     * signing out everywhere) does: Keycloak sends a back-channel logout token to each client that has a URL for it.
     */
    public void logOutEverywhere(String realm, String username) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> token = http.send(
                HttpRequest.newBuilder(URI.create(issuer("master") + "/protocol/openid-connect/token"))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(form(Map.of(
                                "grant_type",
                                "password",
                                "client_id",
                                "admin-cli",
                                "username",
                                ADMIN,
                                "password",
                                ADMIN_PASSWORD))))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (token.statusCode() != 200) {
            throw new AssertionError("no admin token: " + token.statusCode() + " " + token.body());
        }
        String bearer = "Bearer " + JsonPath.from(token.body()).getString("access_token");
        String admin = "http://127.0.0.1:" + port + "/admin/realms/" + realm + "/users";
        HttpResponse<String> users = http.send(
                HttpRequest.newBuilder(URI.create(admin + "?exact=true&username=" + username))
                        .header("Authorization", bearer)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        String id = JsonPath.from(users.body()).getString("[0].id");
        HttpResponse<String> logout = http.send(
                HttpRequest.newBuilder(URI.create(admin + "/" + id + "/logout"))
                        .header("Authorization", bearer)
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (logout.statusCode() != 204) {
            throw new AssertionError("admin logout answered " + logout.statusCode() + " " + logout.body());
        }
    }

    /** The same realm over https (started with {@link Https}): the issuer Keycloak names in answers given there. */
    public String httpsIssuer() {
        return "https://127.0.0.1:" + httpsPort + "/realms/" + REALM;
    }

    public String tokenEndpoint() {
        return issuer() + "/protocol/openid-connect/token";
    }

    public String revocationEndpoint() {
        return issuer() + "/protocol/openid-connect/revoke";
    }

    public String introspectionEndpoint() {
        return issuer() + "/protocol/openid-connect/token/introspect";
    }

    /**
     * Logs {@code username} in at the authorization endpoint as a browser would (GET the authorize URL, POST the login
     * form with its cookies) and returns the {@code code} of the redirect, PKCE S256 with {@code verifier}.
     */
    public String authorizationCode(
            String clientId, String redirectUri, String verifier, String username, String password) throws Exception {
        return authorizationCode(issuer(), clientId, redirectUri, verifier, username, password);
    }

    /**
     * The same at another address of this Keycloak ({@code issuer}, e.g. through a proxy): Keycloak names the issuer
     * after the address a login came in at, and refuses a token at another one.
     */
    public String authorizationCode(
            String issuer, String clientId, String redirectUri, String verifier, String username, String password)
            throws Exception {
        return authorizationCode(
                issuer, clientId, redirectUri, verifier, username, password, HttpClient.Builder.NO_PROXY);
    }

    /** The same from a browser behind {@code proxy}. */
    public String authorizationCode(
            String issuer,
            String clientId,
            String redirectUri,
            String verifier,
            String username,
            String password,
            ProxySelector proxy)
            throws Exception {
        String authorize = issuer + "/protocol/openid-connect/auth?"
                + form(Map.of(
                        "response_type", "code",
                        "client_id", clientId,
                        "redirect_uri", redirectUri,
                        "scope", "openid",
                        "state", "interop-state",
                        "code_challenge", challenge(verifier),
                        "code_challenge_method", "S256"));
        URI back = signIn(URI.create(authorize), redirectUri, username, password, proxy);
        Matcher code = Pattern.compile("[?&]code=([^&]+)").matcher(back.toString());
        if (!code.find()) {
            throw new AssertionError("no code in the redirect: " + back);
        }
        return code.group(1);
    }

    /**
     * Opens an authorization URL as a browser would, signs {@code username} in at the login form and returns where
     * Keycloak redirects: {@code redirectUri} with {@code code} and {@code state}.
     */
    public URI signIn(URI authorize, String redirectUri, String username, String password) throws Exception {
        return signIn(authorize, redirectUri, username, password, HttpClient.Builder.NO_PROXY);
    }

    /** The same from a browser behind {@code proxy}. */
    public URI signIn(URI authorize, String redirectUri, String username, String password, ProxySelector proxy)
            throws Exception {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(proxy)
                .connectTimeout(Duration.ofSeconds(5));
        if (https.isPresent()) {
            // A browser of a company that trusts its own CA.
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(https.get().trustStore())) {
                trusted.load(in, TestCa.PASSWORD.toCharArray());
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            builder.sslContext(context);
        }
        HttpClient browser = builder.build();
        HttpResponse<String> page = browser.send(
                HttpRequest.newBuilder(authorize)
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        String cookies = cookies(page);
        // With a pushed request, Keycloak first redirects to its own login page, setting the session's cookies.
        Optional<String> ownPage = page.headers().firstValue("Location").filter(l -> l.contains("/login-actions/"));
        if (page.statusCode() == 302 && ownPage.isPresent()) {
            page = browser.send(
                    HttpRequest.newBuilder(authorize.resolve(ownPage.get()))
                            .timeout(Duration.ofSeconds(30))
                            .header("Cookie", cookies)
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            cookies = String.join(
                    "; ",
                    List.of(cookies, cookies(page)).stream()
                            .filter(c -> !c.isEmpty())
                            .toList());
        }
        Matcher formTag = LOGIN_FORM.matcher(page.body());
        if (page.statusCode() != 200 || !formTag.find()) {
            throw new AssertionError("no login form: " + page.statusCode() + " "
                    + page.headers().firstValue("Location").orElse("") + " " + page.body());
        }
        Matcher action = ACTION.matcher(formTag.group());
        if (!action.find()) {
            throw new AssertionError("login form without action: " + formTag.group());
        }
        HttpResponse<String> login = browser.send(
                HttpRequest.newBuilder(URI.create(action.group(1).replace("&amp;", "&")))
                        .timeout(Duration.ofSeconds(30))
                        .header("Cookie", cookies)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                form(Map.of("username", username, "password", password, "credentialId", ""))))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        String location = login.headers().firstValue("Location").orElse("");
        if (login.statusCode() != 302 || !location.startsWith(redirectUri + "?")) {
            throw new AssertionError("login not redirected: " + login.statusCode() + " " + location);
        }
        return URI.create(location);
    }

    /**
     * The login page's cookies, sent back by hand: Keycloak marks them {@code Secure}, and {@code java.net.CookieManager}
     * withholds Secure cookies over plain http, even on loopback (browsers treat loopback as secure).
     */
    private static String cookies(HttpResponse<?> response) {
        return response.headers().allValues("Set-Cookie").stream()
                .map(c -> c.split(";", 2)[0])
                .collect(Collectors.joining("; "));
    }

    /** RFC 7636 S256 challenge of a verifier. */
    public static String challenge(String verifier) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
    }

    public static String form(Map<String, String> fields) {
        return fields.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
    }

    private void awaitRealm(Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI discovery = URI.create(issuer() + "/.well-known/openid-configuration");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("Keycloak exited with " + process.exitValue() + ":\n" + output());
            }
            try {
                HttpResponse<Void> r = http.send(
                        HttpRequest.newBuilder(discovery)
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            process.waitFor(500, TimeUnit.MILLISECONDS);
        }
        close();
        throw new AssertionError("Keycloak not up within " + timeout.toSeconds() + " s:\n" + output());
    }

    public String output() throws IOException {
        return Files.readString(output);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
