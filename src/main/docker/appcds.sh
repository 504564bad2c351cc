#!/usr/bin/env bash
# Writes an AppCDS archive (a JDK dynamic class-data archive) for the broker: app-cds.jsa next to its jar.
#
# A training run: the broker starts once with a throwaway configuration (loopback only, ports picked by the kernel,
# no Redis or upstream needed, nothing stored) and is stopped as soon as it has started; at exit the JVM writes the
# classes that start loaded. Started with -XX:SharedArchiveFile=<that file>, the broker maps them instead of loading
# and verifying them again: on the 2-core benchmark machine readiness came 0.7-0.8 s sooner (README "Performance").
# A second start with -Xshare:on then proves that this JVM maps the archive (it refuses to start otherwise).
#
# The JVM uses the archive only with the same JVM build, the same jar path (as written on the command line) and the
# same jar files (path, size, modification time); otherwise it starts without it, and JDK 17 does not say so unless
# -Xshare:on is given. So run this with the java and the jar path the broker will run with, after every build:
# Dockerfile.jvm does at image build time, bench/run.sh after packaging.
#
# Usage: appcds.sh JAR [JVM options]
set -euo pipefail

jar=${1:?usage: appcds.sh JAR [JVM options]}
shift
archive="$(dirname "$jar")/app-cds.jsa"
log=$(mktemp)
pid=
trap '[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null; true' EXIT
rm -f "$archive"

# Starts the broker with the given JVM options, waits for Quarkus' "started in" line (at most 120 s), stops it and
# waits for the exit (at most 60 s). Fails, with the log's tail, if it never started.
start_and_stop() {
  : >"$log"
  # Only what the configuration check requires; none of it is a secret, and the broker never reaches these addresses
  # while it is up for a second or two (Redis and the upstream are contacted lazily, 127.0.0.1:9 is the discard port).
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    BROKER_UPSTREAM_TOKEN_ENDPOINT=http://127.0.0.1:9/connect/token \
    BROKER_CLIENTS_TRAINING_CLIENT_ID=training \
    BROKER_CLIENTS_TRAINING_CLIENT_SECRET=training \
    BROKER_CLIENTS_TRAINING_REDIRECT_URIS=training://callback \
    BROKER_SESSION_ENCRYPTION_KEYS_K1="$(head -c 32 /dev/urandom | base64)" \
    QUARKUS_REDIS_HOSTS=redis://127.0.0.1:9 \
    QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=0 \
    QUARKUS_MANAGEMENT_HOST=127.0.0.1 QUARKUS_MANAGEMENT_PORT=0 \
    QUARKUS_SHUTDOWN_DELAY_ENABLED=false \
    QUARKUS_LOG_CATEGORY__IO_QUARKUS__LEVEL=INFO \
    java "$@" -jar "$jar" >"$log" 2>&1 &
  pid=$!
  local started=0
  for _ in $(seq 1 1200); do
    if grep -q ' started in ' "$log"; then started=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  if [[ $started != 1 ]]; then
    tail -40 "$log" >&2
    echo "appcds.sh: the broker did not log 'started in' with: java $* -jar $jar" >&2
    exit 1
  fi
}

start_and_stop -XX:ArchiveClassesAtExit="$archive" "$@"
[[ -s $archive ]] || { tail -40 "$log" >&2; echo "appcds.sh: the JVM wrote no $archive" >&2; exit 1; }
start_and_stop -Xshare:on -XX:SharedArchiveFile="$archive" "$@"
rm -f "$log"
echo "appcds.sh: $archive ($(($(stat -c %s "$archive") / 1048576)) MB), mapped by a start with -Xshare:on"
