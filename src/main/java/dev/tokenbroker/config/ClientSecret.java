package dev.tokenbroker.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A client's secret: given inline ({@code client-secret}), or read from a file ({@code client-secret-file}, a mounted
 * Kubernetes Secret) at start and again by {@link #reload()}, so that a rotated secret needs no restart. Never shown:
 * {@link #toString()} names the file at most, and no message quotes the file's content.
 */
public final class ClientSecret {

    /** Far above any secret (at most {@link Clients#MAX_CREDENTIAL_LENGTH} characters) and its line break. */
    private static final int MAX_FILE_SIZE = 4096;

    private final Optional<Path> file;
    private volatile String value;
    /** A changed secret read once, taken up if the next read finds it again. */
    private String pending;

    private ClientSecret(Optional<Path> file, String value) {
        this.file = file;
        this.value = value;
    }

    public static ClientSecret of(String value) {
        return new ClientSecret(Optional.empty(), value);
    }

    /** @throws IllegalArgumentException saying what is wrong with the file, never its content */
    static ClientSecret read(Path file) {
        return new ClientSecret(Optional.of(file), readFile(file));
    }

    public String value() {
        return value;
    }

    public Optional<Path> file() {
        return file;
    }

    /**
     * Reads the file again (blocking); an inline secret never changes. A changed secret is taken up once a second
     * read finds it the same (a file written in place may be read half done).
     *
     * @return whether the secret changed
     * @throws IllegalArgumentException when the file does not check out: the secret in use stays
     */
    public synchronized boolean reload() {
        if (file.isEmpty()) {
            return false;
        }
        String read;
        try {
            read = readFile(file.get());
        } catch (IllegalArgumentException e) {
            pending = null;
            throw e;
        }
        if (read.equals(value)) {
            pending = null;
            return false;
        }
        if (!read.equals(pending)) {
            pending = read;
            return false;
        }
        value = read;
        pending = null;
        return true;
    }

    /** The file's text without its trailing line breaks; 1 to 100 characters, none a control character. */
    private static String readFile(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_SIZE + 1);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString()
                    .replaceAll("[\r\n]+$", "");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("is not UTF-8 text");
        }
        if (bytes.length > MAX_FILE_SIZE
                || text.isBlank()
                || text.startsWith("\uFEFF")
                || text.length() > Clients.MAX_CREDENTIAL_LENGTH
                || text.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("must hold a secret of 1 to " + Clients.MAX_CREDENTIAL_LENGTH
                    + " characters on one line, without a byte order mark (a line break at the end is dropped)");
        }
        return text;
    }

    @Override
    public String toString() {
        return file.map(f -> "ClientSecret[file=" + f + "]").orElse("ClientSecret[inline]");
    }
}
