package dev.tokenbroker.api.http;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestIdsTest {

    @Test
    void generatedIdsAreRandomVersion4Uuids() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = RequestIds.randomId();
            UUID uuid = UUID.fromString(id);
            assertEquals(4, uuid.version(), id);
            assertEquals(2, uuid.variant(), id);
            assertEquals(id, uuid.toString());
            assertTrue(seen.add(id), "repeated id " + id);
        }
    }
}
