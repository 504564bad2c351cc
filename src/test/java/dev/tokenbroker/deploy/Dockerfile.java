package dev.tokenbroker.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The few Dockerfile instructions the packaging and chart checks need, read without a Docker engine; continuation
 * lines are joined.
 */
record Dockerfile(List<String[]> instructions) {

    static Dockerfile read(Path path) throws IOException {
        List<String[]> instructions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(path)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            current.append(line.strip());
            if (line.endsWith("\\")) {
                current.setLength(current.length() - 1);
                continue;
            }
            String text = current.toString();
            current.setLength(0);
            int space = text.indexOf(' ');
            instructions.add(new String[] {
                text.substring(0, space), text.substring(space + 1).strip()
            });
        }
        return new Dockerfile(instructions);
    }

    /** COPY source and destination, flags dropped (single source per COPY, as in our files). */
    List<String[]> copies() {
        return instructions.stream()
                .filter(i -> i[0].equals("COPY"))
                .map(i -> {
                    List<String> args = Stream.of(i[1].split("\\s+"))
                            .filter(a -> !a.startsWith("--"))
                            .toList();
                    assertEquals(2, args.size(), "one source per COPY: " + i[1]);
                    return new String[] {args.get(0), args.get(1)};
                })
                .toList();
    }

    String last(String instruction) {
        String value = null;
        for (String[] i : instructions) {
            if (i[0].equals(instruction)) {
                value = i[1];
            }
        }
        return value;
    }

    String env(String name) {
        String value = null;
        for (String[] i : instructions) {
            if (i[0].equals("ENV") && i[1].startsWith(name + "=")) {
                value = i[1].substring(name.length() + 1).replace("\"", "");
            }
        }
        return value;
    }

    /** The uid the container runs as: the user part of the last USER ({@code 185} of {@code USER 185:0}). */
    long uid() {
        String user = last("USER");
        if (user == null) {
            throw new AssertionError("no USER: the image would run as root");
        }
        return Long.parseLong(user.split(":", 2)[0]);
    }

    /** The ports of every EXPOSE, protocol suffixes ({@code /tcp}) dropped. */
    Set<Integer> exposedPorts() {
        Set<Integer> ports = new LinkedHashSet<>();
        for (String[] i : instructions) {
            if (i[0].equals("EXPOSE")) {
                for (String port : i[1].split("\\s+")) {
                    ports.add(Integer.parseInt(port.split("/", 2)[0]));
                }
            }
        }
        return ports;
    }
}
