package dev.tokenbroker.fuzz;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects what anything in this JVM (the broker under test included: one log manager) logs at ERROR or above while
 * installed; the message and the exception's class name only.
 */
final class ErrorLog extends Handler implements AutoCloseable {

    private final List<String> records = new CopyOnWriteArrayList<>();

    private ErrorLog() {
        setLevel(Level.SEVERE);
    }

    static ErrorLog install() {
        ErrorLog log = new ErrorLog();
        Logger.getLogger("").addHandler(log);
        return log;
    }

    List<String> records() {
        return records;
    }

    @Override
    public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.SEVERE.intValue() && records.size() < 100) {
            records.add(record.getLoggerName() + ": " + record.getMessage()
                    + (record.getThrown() == null ? "" : " (" + record.getThrown() + ")"));
        }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(this);
    }
}
