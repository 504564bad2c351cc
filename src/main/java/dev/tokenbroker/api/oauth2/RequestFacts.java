package dev.tokenbroker.api.oauth2;

/**
 * What a grant handler may need to know about the HTTP request beyond its parameters.
 *
 * @param method    the HTTP method
 * @param path      the request path, e.g. {@code /oauth2/token}
 * @param dpopProof the {@code DPoP} header's value, or null
 */
public record RequestFacts(String method, String path, String dpopProof) {

    @Override
    public String toString() {
        return "RequestFacts[" + method + " " + path + ", dpop=" + (dpopProof != null) + "]";
    }
}
