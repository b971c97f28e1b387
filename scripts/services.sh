#!/usr/bin/env bash
# Install and run the real services healcast's integration tests need, on this machine,
# without Docker:
#   - a single-node Apache Kafka 4.x broker (KRaft, combined broker+controller), from the
#     jars on Maven Central (see scripts/kafka/pom.xml), run with the local Java 17;
#   - a throwaway redis-server from Debian's packages.
# Both listen on 127.0.0.1 only and keep their state under .cache/services (git-ignored).
#
# Usage: scripts/services.sh up|down|status|logs|clean [kafka|redis]
#   up      install what is missing, start what is not running, wait until both answer,
#           then print KAFKA_BROKERS=... and REDIS_URL=... on stdout (progress goes to
#           stderr), so this works:  set -a; eval "$(bash scripts/services.sh up)"; set +a
#   down    stop (SIGTERM, then SIGKILL after a grace period); idempotent
#   status  one line per service; exit 0 when all are up, 3 otherwise
#   logs    print the tail of the broker log (`logs redis` for Redis; add -f to follow)
#   clean   down, then delete the state dir (topics, data, logs; not the downloaded jars)
#
# Environment (all optional):
#   HEALCAST_KAFKA_PORT (19092), HEALCAST_KAFKA_CONTROLLER_PORT (Kafka port + 1),
#   HEALCAST_REDIS_PORT (16379), HEALCAST_SERVICES_DIR (.cache/services),
#   HEALCAST_CACHE_DIR (.cache: jar cache), HEALCAST_KAFKA_HEAP_OPTS (-Xms256m -Xmx512m),
#   HEALCAST_KAFKA_START_TIMEOUT (120 seconds)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

CACHE_DIR="$(abspath "${HEALCAST_CACHE_DIR:-$ROOT/.cache}")"
STATE_DIR="$(abspath "${HEALCAST_SERVICES_DIR:-$CACHE_DIR/services}")"

KAFKA_PORT="${HEALCAST_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${HEALCAST_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP_OPTS="${HEALCAST_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${HEALCAST_KAFKA_START_TIMEOUT:-120}"
REDIS_PORT="${HEALCAST_REDIS_PORT:-16379}"

KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_LOG4J="$ROOT/scripts/kafka/log4j2.properties"
KAFKA_LIBS="$CACHE_DIR/kafka/libs"
KAFKA_LIBS_STAMP="$CACHE_DIR/kafka/pom.sha256" # hash of the pom the jars came from
KAFKA_STATE="$STATE_DIR/kafka"
KAFKA_PROPS="$KAFKA_STATE/server.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_STATE/cluster-id"
KAFKA_DATA="$KAFKA_STATE/data"
KAFKA_LOGS="$KAFKA_STATE/logs"
KAFKA_LOG="$KAFKA_LOGS/server.log" # log4j2 (scripts/kafka/log4j2.properties)
KAFKA_OUT="$KAFKA_LOGS/kafka.out"  # JVM stdout/stderr: crashes before log4j is up
KAFKA_PID="$KAFKA_STATE/kafka.pid"
KAFKA_MAIN=kafka.Kafka # also how we recognise our broker in /proc/<pid>/cmdline

REDIS_STATE="$STATE_DIR/redis"
REDIS_PID="$REDIS_STATE/redis.pid"
REDIS_LOG="$REDIS_STATE/redis.log"

# '.' as the decimal point in $EPOCHREALTIME and awk; UTF-8 for the JVM's file encoding.
export LC_ALL=C.UTF-8

# --- helpers ---------------------------------------------------------------------------

say() { printf '[services] %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# Seconds since the $EPOCHREALTIME value $1, e.g. "3.4s".
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# True while process $1 exists and is not a zombie (exited, waiting to be reaped: our
# daemons are re-parented to PID 1, which may take a moment to reap them).
running() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # fields after "pid (comm) "
  [[ "${stat%% *}" != Z ]]
}

# Prints the pid in pid file $1 if that process is alive and its command line contains $2
# (so a recycled pid is not mistaken for our service); fails otherwise.
live_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(tr -dc '0-9' <"$1")"
  [[ -n "$pid" ]] && running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  printf '%s\n' "$pid"
}

# stop_pid NAME PIDFILE PATTERN GRACE_SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name="$1" pidfile="$2" pattern="$3" grace="$4" pid start i
  if ! pid="$(live_pid "$pidfile" "$pattern")"; then
    rm -f "$pidfile"
    say "$name: not running"
    return 0
  fi
  start="$EPOCHREALTIME"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    say "$name: still running after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while running "$pid"; do sleep 0.1; done
  fi
  rm -f "$pidfile"
  say "$name: stopped pid $pid in $(since "$start")"
}

# apt-get install, running `apt-get update` first (once per invocation: on a fresh machine
# the package lists may be missing or stale). apt/dpkg chatter goes to a log file that is
# shown only when something fails.
APT_UPDATED=
apt_install() {
  local sudo=() aptlog="$STATE_DIR/apt.log"
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  mkdir -p "$STATE_DIR"
  if [[ -z "$APT_UPDATED" ]]; then
    say "apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$aptlog" 2>&1 ||
      { tail -n 30 "$aptlog" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" >>"$aptlog" 2>&1 ||
    { tail -n 30 "$aptlog" >&2; die "apt-get install $* failed"; }
}

# Serialise up/down/clean: two test runs starting at once must not launch two brokers.
# The lock lives on fd 9; the long-running services must not inherit it (9>&- below), or
# they would hold the lock for as long as they run.
LOCK_FILE="$STATE_DIR/services.lock"
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 300 9 || die "could not lock $LOCK_FILE within 300s (another services.sh running?)"
}

# --- Kafka -----------------------------------------------------------------------------

kafka_status() {
  local pid
  if pid="$(live_pid "$KAFKA_PID" "$KAFKA_MAIN")"; then
    if port_open "$KAFKA_PORT"; then
      echo "kafka: up (pid $pid, $HOST:$KAFKA_PORT)"
      return 0
    fi
    echo "kafka: starting (pid $pid, $HOST:$KAFKA_PORT not answering yet)"
  elif port_open "$KAFKA_PORT"; then
    echo "kafka: down ($HOST:$KAFKA_PORT is in use by another process)"
  else
    echo "kafka: down"
  fi
  return 1
}

kafka_ensure_tools() {
  if ! command -v java >/dev/null; then
    apt_install openjdk-17-jre-headless
  fi
  if ! command -v mvn >/dev/null; then
    apt_install maven
  fi
}

# Download the broker's jars into $KAFKA_LIBS, unless the jars of this very pom are there.
kafka_download() {
  local hash start
  hash="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  if [[ -f "$KAFKA_LIBS_STAMP" && "$(cat "$KAFKA_LIBS_STAMP")" == "$hash" ]] &&
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    say "kafka: jars already in ${KAFKA_LIBS#"$ROOT/"}"
    return 0
  fi
  start="$EPOCHREALTIME"
  say "kafka: downloading jars from Maven Central (scripts/kafka/pom.xml; ~/.m2 caches them)"
  mkdir -p "$CACHE_DIR/kafka"
  # Into a temporary dir first, so an interrupted download never looks complete.
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" >"$CACHE_DIR/kafka/mvn.log" 2>&1 ||
    { tail -n 40 "$CACHE_DIR/kafka/mvn.log" >&2; die "mvn could not fetch the Kafka jars"; }
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  echo "$hash" >"$KAFKA_LIBS_STAMP"
  say "kafka: download took $(since "$start") ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  cat >"$KAFKA_PROPS" <<EOF
# Generated by scripts/services.sh on every start: edit the script, not this file.
# Single node, KRaft mode, combined broker + controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA

# One broker: every internal topic has a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# Test speed-ups: no 3 s wait before the first group rebalance; 1 instead of 50 partitions
# for __consumer_offsets; fewer threads on a 2-core machine.
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=1
num.network.threads=2
num.io.threads=2

auto.create.topics.enable=true
num.partitions=1
EOF
}

# Format the storage once (a JVM per StorageTool call costs seconds, so skip when done).
kafka_format() {
  local start cluster_id
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    say "kafka: storage already formatted"
    return 0
  fi
  start="$EPOCHREALTIME"
  if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
    kafka_tool random-uuid >"$KAFKA_CLUSTER_ID_FILE.tmp"
    mv "$KAFKA_CLUSTER_ID_FILE.tmp" "$KAFKA_CLUSTER_ID_FILE"
  fi
  cluster_id="$(tr -d '[:space:]' <"$KAFKA_CLUSTER_ID_FILE")"
  # A static controller.quorum.voters means no --standalone here.
  kafka_tool format -t "$cluster_id" -c "$KAFKA_PROPS" --ignore-formatted >&2
  say "kafka: format took $(since "$start") (cluster id $cluster_id)"
}

kafka_tool() {
  java -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool "$@"
}

KAFKA_LAUNCHED_AT=
# Start the broker in the background (does not wait; see kafka_wait).
kafka_launch() {
  # Keep the previous run's log apart: its "Kafka Server started" must not count.
  if [[ -f "$KAFKA_LOG" ]]; then mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"; fi
  if [[ -f "$KAFKA_OUT" ]]; then mv -f "$KAFKA_OUT" "$KAFKA_OUT.prev"; fi
  KAFKA_LAUNCHED_AT="$EPOCHREALTIME"
  # setsid: own session, so the broker outlives the shell (or test runner) that started it
  # and does not get the signals sent to that shell's process group. The GC flags are
  # those of Kafka's bin/kafka-run-class.sh; the heap is smaller than its 1 GiB default.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  setsid java $KAFKA_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN" "$KAFKA_PROPS" \
    </dev/null >"$KAFKA_OUT" 2>&1 9>&- &
  echo $! >"$KAFKA_PID"
  say "kafka: launched pid $! on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
}

kafka_fail() {
  say "kafka: $*"
  say "--- tail of ${KAFKA_LOG#"$ROOT/"} ---"
  tail -n 60 "$KAFKA_LOG" >&2 2>/dev/null || true
  if [[ -s "$KAFKA_OUT" ]]; then
    say "--- tail of ${KAFKA_OUT#"$ROOT/"} ---"
    tail -n 30 "$KAFKA_OUT" >&2
  fi
  exit 1
}

# Ready = the log says "Kafka Server started" AND the port answers.
kafka_wait() {
  local pid deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while :; do
    if ! pid="$(live_pid "$KAFKA_PID" "$KAFKA_MAIN")"; then
      rm -f "$KAFKA_PID"
      kafka_fail "the broker exited during startup"
    fi
    if grep -qF 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      stop_pid kafka "$KAFKA_PID" "$KAFKA_MAIN" 10 # so that the next `up` starts clean
      kafka_fail "not ready after ${KAFKA_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  if [[ -n "$KAFKA_LAUNCHED_AT" ]]; then
    say "kafka: started in $(since "$KAFKA_LAUNCHED_AT") (pid $pid)"
  else
    say "kafka: ready (pid $pid)"
  fi
}

# First half of `up kafka`: everything up to launching the JVM. Sets KAFKA_NEEDS_WAIT
# unless the broker is already up. (Not signalled by the return status: a function called
# as an `if` condition runs with `set -e` switched off.)
KAFKA_NEEDS_WAIT=
kafka_up_begin() {
  local pid port
  if pid="$(live_pid "$KAFKA_PID" "$KAFKA_MAIN")"; then
    if port_open "$KAFKA_PORT"; then
      say "kafka: already running (pid $pid, $HOST:$KAFKA_PORT)"
    else
      say "kafka: pid $pid is still starting, waiting for it"
      KAFKA_NEEDS_WAIT=1
    fi
    return 0
  fi
  rm -f "$KAFKA_PID"
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "kafka: $HOST:$port is in use by another process (set HEALCAST_KAFKA_PORT)"
    fi
  done
  kafka_ensure_tools
  kafka_download
  kafka_write_config
  kafka_format
  kafka_launch
  KAFKA_NEEDS_WAIT=1
}

kafka_down() { stop_pid kafka "$KAFKA_PID" "$KAFKA_MAIN" 30; }

# --- Redis -----------------------------------------------------------------------------

redis_ping() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_status() {
  local pid
  if pid="$(live_pid "$REDIS_PID" redis-server)"; then
    if redis_ping; then
      echo "redis: up (pid $pid, $HOST:$REDIS_PORT)"
      return 0
    fi
    echo "redis: starting (pid $pid, $HOST:$REDIS_PORT not answering yet)"
  elif port_open "$REDIS_PORT"; then
    echo "redis: down ($HOST:$REDIS_PORT is in use by another process)"
  else
    echo "redis: down"
  fi
  return 1
}

redis_up() {
  local pid start i
  if pid="$(live_pid "$REDIS_PID" redis-server)" && redis_ping; then
    say "redis: already running (pid $pid, $HOST:$REDIS_PORT)"
    return 0
  fi
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    start="$EPOCHREALTIME"
    apt_install redis-server # brings redis-tools (redis-cli) too
    say "redis: install took $(since "$start")"
  fi
  start="$EPOCHREALTIME"
  if [[ -z "${pid:-}" ]]; then
    rm -f "$REDIS_PID"
    if port_open "$REDIS_PORT"; then
      die "redis: $HOST:$REDIS_PORT is in use by another process (set HEALCAST_REDIS_PORT)"
    fi
    mkdir -p "$REDIS_STATE"
    # A throwaway server: no RDB snapshots, no AOF; it daemonizes itself (own session).
    redis-server --port "$REDIS_PORT" --bind "$HOST" --save '' --appendonly no \
      --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_STATE" \
      9>&- >&2 || die "redis-server failed to start; see $REDIS_LOG"
  fi
  for ((i = 0; i < 200; i++)); do
    if redis_ping; then
      say "redis: started in $(since "$start") (pid $(tr -dc '0-9' <"$REDIS_PID" 2>/dev/null || true))"
      return 0
    fi
    sleep 0.1
  done
  tail -n 30 "$REDIS_LOG" >&2 2>/dev/null || true
  die "redis: no PONG from $HOST:$REDIS_PORT after 20s"
}

redis_down() { stop_pid redis "$REDIS_PID" redis-server 15; }

# --- commands --------------------------------------------------------------------------

want() { [[ " $TARGETS " == *" $1 "* ]]; }

cmd_up() {
  local start="$EPOCHREALTIME"
  take_lock
  if want kafka; then kafka_up_begin; fi
  # Redis is set up while the broker's JVM boots (several seconds on 2 cores).
  if want redis; then redis_up; fi
  if [[ -n "$KAFKA_NEEDS_WAIT" ]]; then kafka_wait; fi
  say "up in $(since "$start")"
  if want kafka; then echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"; fi
  if want redis; then echo "REDIS_URL=redis://$HOST:$REDIS_PORT"; fi
}

cmd_down() {
  take_lock
  if want kafka; then kafka_down; fi
  if want redis; then redis_down; fi
}

cmd_status() {
  local rc=0
  if want kafka; then kafka_status || rc=3; fi
  if want redis; then redis_status || rc=3; fi
  return "$rc"
}

cmd_logs() {
  local file="$KAFKA_LOG" follow=()
  for arg in "$@"; do
    case "$arg" in
      redis) file="$REDIS_LOG" ;;
      kafka) file="$KAFKA_LOG" ;;
      -f | --follow) follow=(-F) ;;
      *) die "logs: unknown argument '$arg'" ;;
    esac
  done
  [[ -f "$file" || ${#follow[@]} -gt 0 ]] || die "no log yet: $file"
  exec tail -n 100 "${follow[@]}" "$file"
}

cmd_clean() {
  cmd_down
  rm -rf "$STATE_DIR"
  say "removed $STATE_DIR"
}

usage() {
  sed -n '/^# Usage:/,/^#   clean/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  up | down | status | clean)
    TARGETS="${*:-kafka redis}"
    for t in $TARGETS; do [[ "$t" == kafka || "$t" == redis ]] || usage; done
    "cmd_$cmd"
    ;;
  logs) cmd_logs "$@" ;;
  *) usage ;;
esac
