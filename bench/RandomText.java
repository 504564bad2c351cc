import java.util.concurrent.ThreadLocalRandom;

/** Random codes, verifiers and handles. */
final class RandomText {
    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private RandomText() {}

    static String alnum(int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = ALNUM.charAt(r.nextInt(ALNUM.length()));
        }
        return new String(c);
    }

    /** A random handle of the same shape as a real one: letters and digits replaced, other characters kept. */
    static String shapedLike(String real) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = real.toCharArray();
        for (int i = 0; i < c.length; i++) {
            if (Character.isLetterOrDigit(c[i])) {
                c[i] = ALNUM.charAt(r.nextInt(ALNUM.length()));
            }
        }
        return new String(c);
    }
}
