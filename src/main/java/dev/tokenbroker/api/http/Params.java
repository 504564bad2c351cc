package dev.tokenbroker.api.http;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import dev.tokenbroker.error.BrokerException;

/**
 * Request parameters of one token or revocation request, from a form or a JSON object. Enforces
 * RFC 6749 §3.2: parameters must not repeat. Every value is checked here, before anything reaches the upstream.
 */
public final class Params {

    /** RFC 7636 §4.1 code_verifier. */
    public static final Pattern CODE_VERIFIER = Pattern.compile("[A-Za-z0-9._~-]{43,128}");
    /** Printable ASCII, as RFC 6749 Appendix A allows for codes and tokens; bounded. */
    public static final Pattern VSCHAR = Pattern.compile("[\\x20-\\x7E]{1,2048}");
    /** RFC 6749 §3.3 scope: space-separated scope-tokens. */
    public static final Pattern SCOPE =
            Pattern.compile("[\\x21\\x23-\\x5B\\x5D-\\x7E]+( [\\x21\\x23-\\x5B\\x5D-\\x7E]+)*");

    private final Map<String, List<String>> values;

    public Params(Map<String, List<String>> values) {
        this.values = values;
    }

    /** The parameter's single value, or null when absent or empty (RFC 6749 §3.1: empty counts as omitted). */
    public String optional(String name) {
        List<String> list = values.get(name);
        if (list == null || list.isEmpty()) {
            return null;
        }
        if (list.size() > 1) {
            throw new BrokerException.InvalidRequest("Parameter '" + name + "' must not be repeated");
        }
        String value = list.get(0);
        return value == null || value.isEmpty() ? null : value;
    }

    public String required(String name) {
        String value = optional(name);
        if (value == null) {
            throw new BrokerException.InvalidRequest("Parameter '" + name + "' is required");
        }
        return value;
    }

    public String required(String name, Pattern format, String expectation) {
        String value = required(name);
        if (!format.matcher(value).matches()) {
            throw new BrokerException.InvalidRequest("Parameter '" + name + "' " + expectation);
        }
        return value;
    }

    public String optional(String name, Pattern format, String expectation) {
        String value = optional(name);
        if (value != null && !format.matcher(value).matches()) {
            throw new BrokerException.InvalidRequest("Parameter '" + name + "' " + expectation);
        }
        return value;
    }
}
