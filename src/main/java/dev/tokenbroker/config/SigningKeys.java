package dev.tokenbroker.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The keys of one {@code private_key_jwt} client, in the order of its {@code private-keys} files: the first signs, all
 * are published at {@code /oauth2/jwks}. Read at start, and again by {@link #reload()}: files that read and check out
 * as at start, the same in two reads in a row (a file written in place may be read half done), replace the keys in
 * use; anything else is refused and the keys in use stay. So a key rotated in a
 * mounted Secret (a new key published in the second file, then moved to the first) needs no restart.
 */
public final class SigningKeys {

    /** A client of another method: no keys. */
    static final SigningKeys NONE = new SigningKeys(List.of(), Optional.empty(), "", List.of());

    private final List<Path> files;
    private final Optional<SigningKey.Algorithm> wanted;
    private final String password;
    private volatile List<SigningKey> keys;
    /** Changed keys read once, taken up if the next read finds them again. */
    private List<SigningKey> pending;

    private SigningKeys(
            List<Path> files, Optional<SigningKey.Algorithm> wanted, String password, List<SigningKey> keys) {
        this.files = List.copyOf(files);
        this.wanted = wanted;
        this.password = password;
        this.keys = keys;
    }

    /**
     * @param wanted the configured {@code signing-algorithm}, if any
     * @param password opens PKCS#12 files ({@code private-keys-password}; empty: none)
     * @throws IllegalArgumentException one line per problem, each starting with the file, never showing key material
     */
    public static SigningKeys read(List<Path> files, Optional<SigningKey.Algorithm> wanted, String password) {
        return new SigningKeys(files, wanted, password, readAll(files, wanted, password));
    }

    /** The keys in use: the first signs. */
    public List<SigningKey> current() {
        return keys;
    }

    /** The key that signs now. */
    public SigningKey signing() {
        return keys.get(0);
    }

    /**
     * Reads the files again (blocking). Keys that differ from those in use replace them once a second read finds
     * them the same.
     *
     * @return whether the keys changed
     * @throws IllegalArgumentException when the files do not check out (one line per problem): the keys in use stay
     */
    public synchronized boolean reload() {
        List<SigningKey> read;
        try {
            read = readAll(files, wanted, password);
        } catch (IllegalArgumentException e) {
            pending = null;
            throw e;
        }
        if (same(read, keys)) {
            pending = null;
            return false;
        }
        if (pending == null || !same(read, pending)) {
            pending = read;
            return false;
        }
        keys = read;
        pending = null;
        return true;
    }

    private static List<SigningKey> readAll(List<Path> files, Optional<SigningKey.Algorithm> wanted, String password) {
        List<String> problems = new ArrayList<>();
        List<SigningKey> read = new ArrayList<>();
        for (Path file : files) {
            try {
                SigningKey key = SigningKey.read(file, wanted, password);
                if (read.stream().anyMatch(k -> k.keyId().equals(key.keyId()))) {
                    problems.add(file + " has the kid '" + key.keyId() + "' of a key listed before it");
                } else {
                    read.add(key);
                }
            } catch (IllegalArgumentException e) {
                problems.add(file + " " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        return List.copyOf(read);
    }

    /** The same public keys, key ids, algorithms and certificates, in the same order. */
    private static boolean same(List<SigningKey> a, List<SigningKey> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).publicJwk().equals(b.get(i).publicJwk())
                    || !Objects.equals(a.get(i).certificate(), b.get(i).certificate())) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "SigningKeys" + keys;
    }
}
