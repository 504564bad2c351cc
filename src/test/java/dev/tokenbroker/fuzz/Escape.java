package dev.tokenbroker.fuzz;

/** Bytes as Java string-literal text: printable ASCII as is, everything else as an escape. */
final class Escape {

    private Escape() {}

    static String text(byte[] bytes, int max) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < bytes.length && i < max; i++) {
            int b = bytes[i] & 0xFF;
            switch (b) {
                case '\r' -> out.append("\\r");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (b >= 0x20 && b < 0x7F) {
                        out.append((char) b);
                    } else {
                        out.append(String.format("\\u%04x", b));
                    }
                }
            }
        }
        if (bytes.length > max) {
            out.append("…(").append(bytes.length).append(" bytes)");
        }
        return out.toString();
    }
}
