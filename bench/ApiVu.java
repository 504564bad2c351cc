import java.io.IOException;

/**
 * One GET of the bench API per step: straight to the API with a bearer token (a page that holds the token), or
 * through broker d's proxy with the session cookie, {@code X-CSRF: 1} and the app's {@code Origin} (a BFF page).
 * A 200 whose body is not the API's exact size is a protocol error.
 */
final class ApiVu extends OneConnectionVu {
    /** The API proxy's path prefix at broker d for the bench API ({@code broker.clients.web.apis.bench.url}). */
    static final String PROXY_PREFIX = "/bff/api/bench/";

    private final String path;
    private final String headers;
    private final int expected;

    private ApiVu(String base, String path, String headers, int expected) {
        super(base);
        this.path = path;
        this.headers = headers;
        this.expected = expected;
    }

    /** {@code size}: "1k" or "100k", the API path and the size it answers with. */
    static ApiVu direct(Config cfg, String size, String accessToken) {
        return new ApiVu(cfg.api, "/api/" + size, "Authorization: Bearer " + accessToken + "\r\n", expectedBytes(size));
    }

    static ApiVu proxied(Config cfg, String size, String sessionCookie) {
        return new ApiVu(
                cfg.brokerD,
                PROXY_PREFIX + size,
                "Cookie: " + WebLogins.SESSION_COOKIE + "=" + sessionCookie + "\r\nX-CSRF: 1\r\nOrigin: "
                        + cfg.appOrigin + "\r\n",
                expectedBytes(size));
    }

    private static int expectedBytes(String size) {
        return size.equals("100k") ? Api.LARGE : Api.SMALL;
    }

    @Override
    public int step() throws IOException {
        int status = c.send("GET", path, null, null, headers);
        if (status == 200 && c.response.body.length != expected) {
            throw new ProtocolError("API answer of " + c.response.body.length + " bytes, expected " + expected);
        }
        return status;
    }
}
