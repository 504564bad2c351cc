package dev.tokenbroker.config;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

import jakarta.enterprise.inject.Default;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/**
 * The source address of a request, for per-address rate limits. {@code X-Forwarded-For} is believed only when the
 * peer is a configured trusted proxy, and then only as far as the chain of trusted proxies goes: the address is the
 * rightmost entry that is not a trusted proxy (what the nearest untrusted party connected from). Entries left of it
 * are whatever the client wrote and are never used. Addresses are parsed as literals only (no DNS); IPv6 addresses
 * count by their {@code /64}, which one host usually holds whole.
 */
@Singleton
@Default
@CheckedAtStartup
public class TrustedProxies {

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    // Never compared or hashed: only contains() reads the array.
    @SuppressWarnings("ArrayRecordComponent")
    private record Block(byte[] network, int prefix) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (address[full] & mask) == (network[full] & mask);
        }
    }

    private final List<Block> blocks = new ArrayList<>();

    @Inject
    TrustedProxies(BrokerConfig config) {
        this(config.rateLimit().trustedProxies().orElse(List.of()));
    }

    /** @throws IllegalArgumentException naming {@code broker.rate-limit.trusted-proxies} for an entry that is not one */
    public TrustedProxies(List<String> cidrs) {
        List<String> problems = new ArrayList<>();
        for (String cidr : cidrs) {
            Block block = block(cidr.trim());
            if (block == null) {
                problems.add("broker.rate-limit.trusted-proxies: '" + cidr
                        + "' is not an IP address or CIDR block (such as 10.0.0.0/8 or fd00::/8)");
            } else {
                blocks.add(block);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
    }

    /**
     * @param peer         the address of the immediate peer of the connection
     * @param forwardedFor every {@code X-Forwarded-For} header of the request, in order
     * @return the address to count the request under
     */
    public String sourceAddress(String peer, List<String> forwardedFor) {
        byte[] source = literal(peer);
        if (source == null) {
            // A Unix socket or the like: everything behind it is one source.
            return String.valueOf(peer);
        }
        if (isTrusted(source) && forwardedFor != null && !forwardedFor.isEmpty()) {
            List<String> hops = new ArrayList<>();
            forwardedFor.forEach(header -> hops.addAll(Arrays.asList(header.split(","))));
            for (int i = hops.size() - 1; i >= 0; i--) {
                byte[] hop = literal(withoutPort(hops.get(i).trim()));
                if (hop == null) {
                    // Not written by a trusted proxy: the nearest address seen is all that can be believed.
                    break;
                }
                source = hop;
                if (!isTrusted(hop)) {
                    break;
                }
            }
        }
        return key(source);
    }

    /**
     * Some proxies append the client's port: {@code 203.0.113.7:51234} or {@code [2001:db8::1]:443}. A bare IPv6
     * address (several colons, no brackets) is left as it is.
     */
    static String withoutPort(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close < 0 ? hop : hop.substring(1, close);
        }
        int colon = hop.indexOf(':');
        return colon >= 0 && colon == hop.lastIndexOf(':') ? hop.substring(0, colon) : hop;
    }

    /** Whether no proxy is trusted (then {@code X-Forwarded-For} is never read). */
    public boolean isEmpty() {
        return blocks.isEmpty();
    }

    private boolean isTrusted(byte[] address) {
        for (Block block : blocks) {
            if (block.contains(address)) {
                return true;
            }
        }
        return false;
    }

    private static String key(byte[] address) {
        if (address.length == 4) {
            return (address[0] & 0xff) + "." + (address[1] & 0xff) + "." + (address[2] & 0xff) + "."
                    + (address[3] & 0xff);
        }
        byte[] net = Arrays.copyOf(address, 16);
        Arrays.fill(net, 8, 16, (byte) 0);
        try {
            return InetAddress.getByAddress(net).getHostAddress() + "/64";
        } catch (UnknownHostException e) {
            throw new IllegalStateException("16 bytes are an IPv6 address", e);
        }
    }

    private static Block block(String cidr) {
        int slash = cidr.indexOf('/');
        byte[] network = literal(slash < 0 ? cidr : cidr.substring(0, slash));
        if (network == null) {
            return null;
        }
        int max = network.length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(cidr.substring(slash + 1));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return prefix < 0 || prefix > max ? null : new Block(network, prefix);
    }

    /**
     * The bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 as IPv4), or null; never a name lookup, which
     * {@link InetAddress#getByName} would make for anything that is not a valid literal.
     */
    static byte[] literal(String text) {
        if (text == null) {
            return null;
        }
        var v4 = IPV4.matcher(text);
        if (v4.matches()) {
            byte[] bytes = new byte[4];
            for (int i = 0; i < 4; i++) {
                int octet = Integer.parseInt(v4.group(i + 1));
                if (octet > 255) {
                    return null;
                }
                bytes[i] = (byte) octet;
            }
            return bytes;
        }
        if (text.indexOf(':') < 0 || !IPV6.matcher(text).matches()) {
            return null;
        }
        try {
            // In brackets, an invalid literal fails at once instead of being looked up as a host name.
            InetAddress address = InetAddress.getByName("[" + text + "]");
            return address instanceof Inet6Address || address.getAddress().length == 4 ? address.getAddress() : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
