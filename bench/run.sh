#!/usr/bin/env bash
# token-broker benchmark: one command. See bench/README.md.
#
#   bench/run.sh            full run: 10 and 50 connections, 5 s warm-up + 15 s measured per row
#   bench/run.sh --quick    smoke test for CI: 10 connections, no initial warm-up, 1 s warm-up + 2 s per row
#
# Environment (all optional):
#   BENCH_BUILD=auto|always|never   package the app: auto (default) skips it when target/quarkus-app/quarkus-run.jar
#                                   is newer than pom.xml and everything under src/main
#   BENCH_CONNS=10,50  BENCH_WARMUP=5  BENCH_MEASURE=15  BENCH_INITIAL_WARMUP=15  BENCH_SESSIONS_PER_VU=20
#   BENCH_OPS=floor,refresh-upstream,...   a subset of the rows; the API proxy rows are opt-in:
#                                   BENCH_OPS=floor,api-direct-1k,api-proxy-1k,api-direct-100k,api-proxy-100k
#   BENCH_UPSTREAM_ROTATE=true      the upstream returns a new refresh token on every refresh
#   BENCH_UPSTREAM_DELAY_MS=0       the upstream sleeps this long before each token answer
#   BENCH_BROKER_JAVA_OPTS=...      replaces the broker JVM options (default: those of the container image)
#   BENCH_STARTS=3                  then starts one broker alone this many times (1 with --quick, 0: none) and
#                                   prints each time from exec to readiness UP
#   BENCH_OPEN_MODEL=0.5            after each row, the same row in the open model (a constant arrival rate, latency
#                                   from each request's intended send) at this fraction of the row's req/s, or
#   BENCH_OPEN_RATE=N               at N req/s (for the broker and the lower bound at the same rate)
#   BENCH_SESSIONS=N                first store N more sessions in Redis through the broker's store code (Maven
#                                   runs SessionFill) and report the Redis memory they take; 1000000: ~2 minutes
#   BENCH_REDIS_ARGS="..."          more redis-server arguments, e.g. --hash-max-ziplist-value 256
#   BENCH_FAKE_BROKER=1             test the harness itself against bench/FakeBroker.java (rotating handles with
#                                   a '.'), not the real broker; BENCH_FAKE_BROKER_FAIL_EVERY=N makes it answer
#                                   every N-th token request with 500 (the run must then fail)
set -euo pipefail

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="$ROOT/bench/target"
OUT="$TARGET/last"
CLASSES="$TARGET/classes"
rm -rf "$OUT"
mkdir -p "$OUT" "$CLASSES"

if [[ $QUICK == 1 ]]; then
  CONNS=${BENCH_CONNS:-10}; WARMUP=${BENCH_WARMUP:-1}; MEASURE=${BENCH_MEASURE:-2}
  INITIAL_WARMUP=${BENCH_INITIAL_WARMUP:-0}; SESSIONS_PER_VU=${BENCH_SESSIONS_PER_VU:-5}
else
  CONNS=${BENCH_CONNS:-10,50}; WARMUP=${BENCH_WARMUP:-5}; MEASURE=${BENCH_MEASURE:-15}
  INITIAL_WARMUP=${BENCH_INITIAL_WARMUP:-15}; SESSIONS_PER_VU=${BENCH_SESSIONS_PER_VU:-20}
fi
OPS=${BENCH_OPS:-floor,refresh-upstream,refresh-2-replicas,refresh-reuse,exchange,revoke-known,revoke-unknown}

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- cleanup
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------ build
JAR="$ROOT/target/quarkus-app/quarkus-run.jar"
BUILD=${BENCH_BUILD:-auto}
FAKE=${BENCH_FAKE_BROKER:-0}
FILL=${BENCH_SESSIONS:-0}
[[ $FILL =~ ^[0-9]{1,9}$ ]] || die "BENCH_SESSIONS must be a number of sessions (at most 9 digits)"
[[ $FAKE == 1 && $FILL != 0 ]] && die "BENCH_SESSIONS needs the real broker"
read -ra REDIS_EXTRA <<<"${BENCH_REDIS_ARGS:-}"
[[ $FAKE == 1 ]] && BUILD=never
if [[ $BUILD == always || ( $BUILD == auto && ( ! -f $JAR || -n "$(find pom.xml src/main -newer "$JAR" -print -quit)" ) ) ]]; then
  log "packaging the broker: ./mvnw -B -q -DskipTests package"
  ./mvnw -B -q -DskipTests package >"$OUT/build.log" 2>&1 || { tail -50 "$OUT/build.log" >&2; die "build failed (see $OUT/build.log)"; }
else
  log "target/quarkus-app is up to date with src/main and pom.xml: not rebuilding (BENCH_BUILD=always forces it)"
fi
[[ $FAKE == 1 || -f $JAR ]] || die "$JAR missing"
# The AppCDS archive the image makes at build time (src/main/docker/appcds.sh), again whenever a jar is newer.
ARCHIVE="$ROOT/target/quarkus-app/app-cds.jsa"
if [[ $FAKE != 1 && ( ! -f $ARCHIVE || -n "$(find "$ROOT/target/quarkus-app" -name '*.jar' -newer "$ARCHIVE" -print -quit)" ) ]]; then
  log "writing the AppCDS archive: src/main/docker/appcds.sh (a training start, then a start that maps it)"
  src/main/docker/appcds.sh "$JAR" >"$OUT/appcds.log" 2>&1 || { cat "$OUT/appcds.log" >&2; die "AppCDS training start failed"; }
fi

log "compiling the load generator and upstream (javac, JDK only)"
javac -nowarn -d "$CLASSES" bench/*.java
JAVA_BENCH=(java -XX:+UseParallelGC -Xms256m -Xmx1g -cp "$CLASSES")

# ------------------------------------------------------------------------------------------------ redis
REDIS_BIN=$(command -v redis-server || true)
if [[ -z $REDIS_BIN ]]; then
  EMBEDDED=redis-server-6.2.6-v5-linux-amd64
  REDIS_BIN="$TARGET/redis/$EMBEDDED"
  if [[ ! -x $REDIS_BIN ]]; then
    M2_REPO=$(./mvnw -q help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null || true)
    [[ -d $M2_REPO ]] || M2_REPO="$HOME/.m2/repository"
    REDIS_JAR="$M2_REPO/com/github/codemonstur/embedded-redis/1.4.3/embedded-redis-1.4.3.jar"
    if [[ ! -f $REDIS_JAR ]]; then
      log "fetching com.github.codemonstur:embedded-redis:1.4.3 (for its redis-server binary)"
      ./mvnw -B -q dependency:get -Dartifact=com.github.codemonstur:embedded-redis:1.4.3 -Dtransitive=false >&2
    fi
    [[ -f $REDIS_JAR ]] || die "no redis-server on PATH and $REDIS_JAR missing"
    mkdir -p "$TARGET/redis"
    (cd "$TARGET/redis" && jar xf "$REDIS_JAR" "$EMBEDDED")
    chmod +x "$REDIS_BIN"
  fi
fi
log "redis-server: $REDIS_BIN"

mapfile -t PORTS < <("${JAVA_BENCH[@]}" Load freeports 12)
REDIS_PORT=${PORTS[0]}; UPSTREAM_PORT=${PORTS[1]}; PORT_A=${PORTS[2]}; PORT_B=${PORTS[3]}; PORT_C=${PORTS[4]}
# Health and metrics are on each broker's management interface: replicas on one host need one port each.
MGMT_A=${PORTS[5]}; MGMT_B=${PORTS[6]}; MGMT_C=${PORTS[7]}
# The API proxy rows: broker d (web mode), the bench API, and the SPA's origin (a name only: nothing listens there).
PORT_D=${PORTS[8]}; MGMT_D=${PORTS[9]}; API_PORT=${PORTS[10]}; APP_ORIGIN="http://127.0.0.1:${PORTS[11]}"
API_ROWS=0; PROXY_ROWS=0
[[ ,$OPS, == *,api-* ]] && API_ROWS=1
[[ ,$OPS, == *,api-proxy-* ]] && PROXY_ROWS=1
[[ $FAKE == 1 && $PROXY_ROWS == 1 ]] && die "the api-proxy rows need the real broker (BENCH_FAKE_BROKER=1 has no /bff/*)"

# No persistence: the benchmark measures the broker, not the disk.
"$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT" \
  --logfile "$OUT/redis.log" ${REDIS_EXTRA[@]+"${REDIS_EXTRA[@]}"} &
PIDS+=($!); REDIS_PID=$!

# ---------------------------------------------------------------------------------------------- upstream
"${JAVA_BENCH[@]}" Upstream port="$UPSTREAM_PORT" rotate="${BENCH_UPSTREAM_ROTATE:-true}" strict=true \
  delay-ms="${BENCH_UPSTREAM_DELAY_MS:-0}" max-seconds=3600 >"$OUT/upstream.log" 2>&1 &
PIDS+=($!); UPSTREAM_PID=$!

# ------------------------------------------------------------------------------------------------- API
# The resource server behind the proxy rows (bench/Api.java): only when an api-* row runs.
API_PID=0
if [[ $API_ROWS == 1 ]]; then
  "${JAVA_BENCH[@]}" Api port="$API_PORT" max-seconds=3600 >"$OUT/api.log" 2>&1 &
  PIDS+=($!); API_PID=$!
fi

# ----------------------------------------------------------------------------------------------- brokers
# JVM options of the container image (src/main/docker/Dockerfile.jvm) with the pod limits and jvm values of
# helm/token-broker/values.yaml (memory 512Mi: -XX:MaxRAM stands in for the cgroup limit). HelmChartTest checks that
# these match the chart's defaults.
#  - the image's JDK_JAVA_OPTIONS: -XX:+UseParallelGC -XX:MaxRAMPercentage=75 -Xms32m -Xmn16m -XX:GCTimeRatio=99
#    -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:AdaptiveSizePolicyWeight=90 -XX:+ExitOnOutOfMemoryError
#  - its entry point's -Djava.util.logging.manager=org.jboss.logmanager.LogManager and -XX:SharedArchiveFile=… (the
#    image's archive is /deployments/app-cds.jsa; here the one made above for $JAR), plus -Xshare:on (here only): a
#    JVM that cannot map the archive refuses to start instead of silently starting without it, so every figure is
#    measured with it
#  - MALLOC_ARENA_MAX=2 (exported below for the brokers)
#  - not emulated: the pod's CPU limit of 1 (the JVM would see 1 CPU); set -XX:ActiveProcessorCount=1 via
#    BENCH_BROKER_JAVA_OPTS to try it.
DEFAULT_BROKER_OPTS="-XX:MaxRAM=512m -XX:MaxRAMPercentage=75 -XX:+UseParallelGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:GCTimeRatio=99 -XX:AdaptiveSizePolicyWeight=90 -XX:+ExitOnOutOfMemoryError -Djava.util.logging.manager=org.jboss.logmanager.LogManager -Xms32m -Xmn16m -XX:SharedArchiveFile=$ARCHIVE -Xshare:on"
BROKER_OPTS=${BENCH_BROKER_JAVA_OPTS:-$DEFAULT_BROKER_OPTS}
ENC_KEY=$(head -c 32 /dev/urandom | base64)

start_broker() { # name port management-port reuse-window [web]
  local name=$1 port=$2 mgmt=$3 window=$4 web=${5:-}
  (
    export BROKER_UPSTREAM_TOKEN_ENDPOINT="http://127.0.0.1:$UPSTREAM_PORT/connect/token"
    export BROKER_UPSTREAM_REVOCATION_ENDPOINT="http://127.0.0.1:$UPSTREAM_PORT/connect/revocation"
    export BROKER_CLIENTS_BENCH_CLIENT_ID=bench
    export BROKER_CLIENTS_BENCH_CLIENT_SECRET=bench-secret
    export BROKER_CLIENTS_BENCH_REDIRECT_URIS=bench://callback
    export BROKER_SESSION_ENCRYPTION_KEYS_K1="$ENC_KEY"
    export BROKER_SESSION_REFRESH_REUSE_WINDOW="$window"
    export QUARKUS_REDIS_HOSTS="redis://127.0.0.1:$REDIS_PORT"
    export QUARKUS_HTTP_PORT="$port"
    export QUARKUS_HTTP_HOST=127.0.0.1
    export QUARKUS_MANAGEMENT_PORT="$mgmt"
    export QUARKUS_MANAGEMENT_HOST=127.0.0.1
    export QUARKUS_PROFILE=prod
    export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
    if [[ $web == web ]]; then
      # Web mode needs discovery (authorization endpoint, JWKS for the ID token): only this broker has the issuer,
      # because with a JWKS the others would also verify the native rows' access tokens.
      export BROKER_UPSTREAM_ISSUER="http://127.0.0.1:$UPSTREAM_PORT"
      export BROKER_EXTERNAL_BASE_URL="http://127.0.0.1:$port"
      export BROKER_CLIENTS_WEB_CLIENT_ID=bench-web
      export BROKER_CLIENTS_WEB_CLIENT_SECRET=bench-web-secret
      export BROKER_CLIENTS_WEB_MODE=web
      export BROKER_CLIENTS_WEB_REDIRECT_URIS="http://127.0.0.1:$port/bff/callback"
      export BROKER_CLIENTS_WEB_ALLOWED_ORIGINS="$APP_ORIGIN"
      export BROKER_CLIENTS_WEB_RETURN_TO="$APP_ORIGIN"
      export BROKER_CLIENTS_WEB_TOKEN_ENDPOINT=off
      export BROKER_CLIENTS_WEB_APIS_BENCH_URL="http://127.0.0.1:$API_PORT/api"
      # All logins come from one address, more than the default 30 a minute.
      export BROKER_WEB_AUTHORIZATION_REQUESTS_PER_ADDRESS=0
      export BROKER_WEB_AUTHORIZATION_REQUESTS_PER_CLIENT=0
    fi
    if [[ $FAKE == 1 ]]; then
      exec "${JAVA_BENCH[@]}" FakeBroker port="$port,$mgmt" upstream="http://127.0.0.1:$UPSTREAM_PORT" \
        fail-every="${BENCH_FAKE_BROKER_FAIL_EVERY:-0}" max-seconds=3600
    fi
    # shellcheck disable=SC2086
    exec java $BROKER_OPTS -jar "$JAR"
  ) >"$OUT/broker-$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
if [[ $FAKE == 1 ]]; then
  # Fake brokers keep sessions in memory: one process serves both "replicas" a and c.
  start_broker a "$PORT_A,$PORT_C" "$MGMT_A,$MGMT_C" 0s; PID_A=$LAST_PID; PID_C=$LAST_PID
  start_broker b "$PORT_B" "$MGMT_B" 1h; PID_B=$LAST_PID
else
  start_broker a "$PORT_A" "$MGMT_A" 0s; PID_A=$LAST_PID
  start_broker b "$PORT_B" "$MGMT_B" 1h; PID_B=$LAST_PID
  start_broker c "$PORT_C" "$MGMT_C" 0s; PID_C=$LAST_PID
fi
log "redis :$REDIS_PORT (pid $REDIS_PID), upstream :$UPSTREAM_PORT (pid $UPSTREAM_PID), brokers a :$PORT_A/:$MGMT_A (pid $PID_A, reuse window 0s), b :$PORT_B/:$MGMT_B (pid $PID_B, 1h), c :$PORT_C/:$MGMT_C (pid $PID_C, 0s, replica of a)"
WAIT_MORE=(); LOAD_MORE=()
if [[ $API_ROWS == 1 ]]; then
  WAIT_MORE+=("http://127.0.0.1:$API_PORT/stats")
  LOAD_MORE+=(api="http://127.0.0.1:$API_PORT" api-pid="$API_PID")
  log "API :$API_PORT (pid $API_PID)"
fi
PID_D=0
if [[ $PROXY_ROWS == 1 ]]; then
  start_broker d "$PORT_D" "$MGMT_D" 0s web; PID_D=$LAST_PID
  WAIT_MORE+=("http://127.0.0.1:$MGMT_D/q/health/ready")
  LOAD_MORE+=(broker-d="http://127.0.0.1:$PORT_D" pid-d="$PID_D" management-d="http://127.0.0.1:$MGMT_D"
    web-client-id=bench-web app-origin="$APP_ORIGIN")
  log "broker d :$PORT_D/:$MGMT_D (pid $PID_D, web mode, API proxy to :$API_PORT; the SPA's origin $APP_ORIGIN)"
fi

"${JAVA_BENCH[@]}" Load wait timeout=120 "http://127.0.0.1:$UPSTREAM_PORT/stats" \
  "http://127.0.0.1:$MGMT_A/q/health/ready" "http://127.0.0.1:$MGMT_B/q/health/ready" \
  "http://127.0.0.1:$MGMT_C/q/health/ready" ${WAIT_MORE[@]+"${WAIT_MORE[@]}"} \
  || { tail -n 30 "$OUT"/broker-*.log >&2; die "services not ready"; }
for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "process $pid exited early (logs in $OUT)"; done
log "all up"

# ----------------------------------------------------------------------------------------- sessions at scale
# BENCH_SESSIONS=N: N more sessions in Redis before the rows, stored through the broker's own store code by
# SessionFill (a Quarkus test that only runs when asked, with Maven); what they take in Redis goes to sessions.txt.
# In the background and waited for, like the load below, so that a signal stops it at once.
if [[ $FILL != 0 ]]; then
  log "storing $FILL sessions in Redis (SessionFill; log in $OUT/session-fill.log)"
  ./mvnw -B -q test-compile surefire:test@default-test -Dspotless.check.skip=true -Dtest=SessionFill \
    -Dsurefire.failIfNoSpecifiedTests=false -Dbench.fill.sessions="$FILL" \
    -Dbench.fill.redis="redis://127.0.0.1:$REDIS_PORT" -Dbench.fill.key="$ENC_KEY" \
    -Dbench.fill.out="$OUT/sessions.txt" >"$OUT/session-fill.log" 2>&1 &
  FILL_PID=$!
  PIDS+=("$FILL_PID")
  wait "$FILL_PID" && [[ -s $OUT/sessions.txt ]] || die "SessionFill failed (see $OUT/session-fill.log)"
  sed 's/^/[bench] /' "$OUT/sessions.txt"
fi
log "running the load"

# ------------------------------------------------------------------------------------------------- load
# In the background and waited for, so that a signal to this script runs the cleanup at once.
set +e
"${JAVA_BENCH[@]}" Load run \
  broker-a="http://127.0.0.1:$PORT_A" pid-a="$PID_A" \
  broker-b="http://127.0.0.1:$PORT_B" pid-b="$PID_B" \
  broker-c="http://127.0.0.1:$PORT_C" pid-c="$PID_C" \
  management-a="http://127.0.0.1:$MGMT_A" management-b="http://127.0.0.1:$MGMT_B" \
  management-c="http://127.0.0.1:$MGMT_C" \
  upstream="http://127.0.0.1:$UPSTREAM_PORT" redis-port="$REDIS_PORT" clk-tck="$(getconf CLK_TCK)" \
  conns="$CONNS" warmup="$WARMUP" measure="$MEASURE" initial-warmup="$INITIAL_WARMUP" \
  sessions-per-vu="$SESSIONS_PER_VU" ops="$OPS" out="$OUT" \
  client-id=bench client-secret=bench-secret redirect-uri=bench://callback \
  open-model="${BENCH_OPEN_MODEL:-0}" open-rate="${BENCH_OPEN_RATE:-0}" \
  jvm-opts="$BROKER_OPTS" ${LOAD_MORE[@]+"${LOAD_MORE[@]}"} \
  notes="$([[ $FAKE == 1 ]] && echo 'FAKE BROKER (harness self-test, not token-broker); ')upstream: rotate=${BENCH_UPSTREAM_ROTATE:-true} delay-ms=${BENCH_UPSTREAM_DELAY_MS:-0} strict=true; redis without persistence; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src pom.xml 2>/dev/null || echo ' (src modified)')" &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
wait "$LOAD_PID"
RC=$?
set -e

if [[ $FILL != 0 && -s $OUT/results.txt ]]; then
  { echo "sessions stored before the rows (BENCH_SESSIONS):"; cat "$OUT/sessions.txt"; } >>"$OUT/results.txt"
fi

# ----------------------------------------------------------------------------------------------- start
# Exec to readiness UP of one broker alone (the others stopped first), BENCH_STARTS times: the same JVM options,
# Redis and upstream. Polled with bash's /dev/tcp every 20 ms, so no second JVM competes with the one starting.
STARTS=${BENCH_STARTS:-$([[ $QUICK == 1 ]] && echo 1 || echo 3)}
ready() { # management-port
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /q/health/ready HTTP/1.0\r\n\r\n' >&3 && head -1 <&3 | grep -q ' 200 ') \
    2>/dev/null
}
if [[ $RC == 0 && $FAKE != 1 && $STARTS -gt 0 ]]; then
  STOP=("$PID_A" "$PID_B" "$PID_C"); [[ $PID_D != 0 ]] && STOP+=("$PID_D")
  kill "${STOP[@]}" 2>/dev/null || true
  wait "${STOP[@]}" 2>/dev/null || true
  export QUARKUS_SHUTDOWN_DELAY_ENABLED=false
  STARTED=()
  for i in $(seq 1 "$STARTS"); do
    t0=$(date +%s%N)
    start_broker "start-$i" "$PORT_A" "$MGMT_A" 0s
    for _ in $(seq 1 3000); do ready "$MGMT_A" && break; sleep 0.02; done
    t1=$(date +%s%N)
    ready "$MGMT_A" || die "broker start-$i not ready after a minute (see $OUT/broker-start-$i.log)"
    kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
    STARTED+=("$(( (t1 - t0) / 1000000 ))")
  done
  echo "start, exec to readiness UP (one broker alone, ms): ${STARTED[*]}" | tee -a "$OUT/results.txt"
fi

# The broker logs: anything above INFO is worth a look.
WARNS=$(cat "$OUT"/broker-*.log | grep -c -E '"level":"(WARN|ERROR)"|^[0-9:,]+ (WARN|ERROR)' || true)
log "broker log lines at WARN or ERROR: ${WARNS} (logs in $OUT)"
if [[ $RC != 0 ]]; then
  die "benchmark checks failed (exit $RC); see $OUT/results.txt and $OUT/details.txt"
fi
exit 0
