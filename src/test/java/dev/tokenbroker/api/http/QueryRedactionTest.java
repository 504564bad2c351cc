package dev.tokenbroker.api.http;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class QueryRedactionTest {

    @Test
    void keepsTheNamesOfParametersAndDropsEveryValue() {
        assertEquals("code&state", QueryRedaction.namesOnly("code=abc&state=x%3Dy"));
        assertEquals("a&b&c", QueryRedaction.namesOnly("a=1&b&c=x=y"));
        assertEquals("&&a", QueryRedaction.namesOnly("&=secret&a=1#fragment=2"));
        assertEquals("", QueryRedaction.namesOnly("=only-a-value"));
    }
}
