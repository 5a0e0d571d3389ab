#!/usr/bin/env bash
# Portcullis benchmark suite: throughput and latency next to nginx, a login storm, and memory
# with many sessions. Everything runs on loopback and is stopped on exit.
#
#   bench/run.sh                 # full run (about 6 minutes on 2 cores)
#   QUICK=1 bench/run.sh         # a smoke run with short measurements and 10 000 sessions
#
# Knobs (environment):
#   DURATION=10        seconds per wrk measurement
#   ROUNDS=3           alternated rounds; every figure is the median over them
#   THREADS=2          wrk threads for the throughput table
#   CONNECTIONS=64     wrk connections for the throughput table
#   WARMUP=2           seconds of unmeasured load per scenario before the rounds
#   STORM_CONNECTIONS=16   proxied connections measured in the login storm
#   STORM_CLIENTS=16   connections posting logins during the storm
#   STORM_MODES="paced saturating"   proxied load during the storm check: paced (each
#                      connection waits PACE_MS between requests) and/or saturating (no wait)
#   PACE_MS=4          the wait of the paced load
#   SCALE_SESSIONS=100000  live sessions for the memory check
#   SCALE_USERS=1000   users those sessions belong to
#   SCALE_PROBE=2000   extra sessions touched one at a time (cache miss, then hit)
#   TOUCH_CONCURRENCY=32   requests in flight while touching the sessions
#   IDLE_CONNECTIONS=10000   idle keep-alive connections held open in the idle part
#   IDLE_SETTLE=60     seconds to wait after they close before reading memory again
#   PARTS="throughput reload storm scale idle"   which parts to run; add `scaleout` for two
#                      gateways on one PostgreSQL behind nginx (needs Debian's postgresql)
#   SCALEOUT_ROUNDS=100   revocations (and cache misses) measured in the scaleout part
#                      add `tls` for the HTTPS listener: a cached session over HTTP/1.1 and over
#                      HTTP/2, each over TLS (needs h2load: apt-get install nghttp2-client)
#   RELOADS=100        reloads during the reload part (half SIGHUP, half `portcullis reload`)
#   RELOAD_SECONDS=25  how long wrk runs with a session while they happen
#   PEER_BIN=          a built totp-gateway (a TOTP gateway on Pingora, one thread): adds its
#                      unprotected and cached-session scenarios to the throughput table
#                      (needs oathtool to sign in to it)
#   SKIP_BUILD=1       use the existing release build
#   KEEP=1             keep the temporary directory (configs, logs, raw wrk output)
#   METRICS=0          1: the gateway serves [metrics] (scraped every 5 s during the run)
#   WORK_STEALING=false   the runtime flavour of the gateway and of the bare Pingora proxy
#   GW_LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2   run the gateway with another
#                      malloc (an experiment; the table header says when it is set)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  : "${DURATION:=3}" "${ROUNDS:=1}" "${WARMUP:=1}" "${SCALE_SESSIONS:=10000}" "${SCALE_PROBE:=500}"
  : "${IDLE_CONNECTIONS:=2000}" "${IDLE_SETTLE:=10}"
fi
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-2}
STORM_CONNECTIONS=${STORM_CONNECTIONS:-16}
STORM_CLIENTS=${STORM_CLIENTS:-16}
STORM_MODES=${STORM_MODES:-"paced saturating"}
PACE_MS=${PACE_MS:-4}
SCALE_SESSIONS=${SCALE_SESSIONS:-100000}
SCALE_USERS=${SCALE_USERS:-1000}
SCALE_PROBE=${SCALE_PROBE:-2000}
TOUCH_CONCURRENCY=${TOUCH_CONCURRENCY:-32}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
IDLE_SETTLE=${IDLE_SETTLE:-60}
PARTS=${PARTS:-"throughput reload storm scale idle"}
RELOADS=${RELOADS:-100}
SCALEOUT_ROUNDS=${SCALEOUT_ROUNDS:-100}
RELOAD_SECONDS=${RELOAD_SECONDS:-25}
PEER_BIN=${PEER_BIN:-}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP=${KEEP:-0}
GW_LD_PRELOAD=${GW_LD_PRELOAD:-}
WORK_STEALING=${WORK_STEALING:-false}
METRICS=${METRICS:-0}
case $WORK_STEALING in true) BARE_FLAVOUR=steal ;; false) BARE_FLAVOUR=nosteal ;;
  *) echo "bench: WORK_STEALING must be true or false" >&2; exit 2 ;; esac

for v in DURATION ROUNDS THREADS CONNECTIONS WARMUP STORM_CONNECTIONS STORM_CLIENTS PACE_MS \
  SCALE_SESSIONS SCALE_USERS SCALE_PROBE TOUCH_CONCURRENCY IDLE_CONNECTIONS IDLE_SETTLE RELOADS \
  RELOAD_SECONDS; do
  min=1
  case $v in WARMUP | PACE_MS) min=0 ;; esac
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt "$min" ]; then
    echo "bench: $v must be a whole number of at least $min (got '${!v}')" >&2
    exit 2
  fi
done

PREFIX=/.portcullis
COOKIE=portcullis_session
NPROC=$(nproc)
BIN="$ROOT/target/release/portcullis"
EXAMPLES="$ROOT/target/release/examples"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v ss >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}: install them (apt-get install -y ${need[*]}) or run as root"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- processes: everything started is recorded and stopped by PID --------------------------
WORK=$(mktemp -d /tmp/portcullis-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers run as nobody when started by root
PIDS=()
TARGETS=() # "met|missed: text" lines for the summary

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid"
  done
  if [ "$KEEP" = 1 ]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

USED_PORTS=" "
# alloc_port VAR: a free loopback TCP port, different from the ones handed out before.
alloc_port() {
  local p i
  for i in $(seq 1 500); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
      USED_PORTS+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}

# wait_http PORT PID NAME: until something answers HTTP on the port (at most 30 s).
wait_http() {
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || die "$3 exited; see its log in $WORK (KEEP=1 keeps it)"
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then
      return 0
    fi
    sleep 0.1
  done
  die "$3 did not answer on port $1"
}

# --- build ---------------------------------------------------------------------------------
if [ "$SKIP_BUILD" != 1 ]; then
  log "cargo build --release (gateway and bench examples)"
  (cd "$ROOT" && cargo build --release --quiet --bin portcullis \
    --example seed_sessions --example touch_sessions --example bare_pingora \
    --example scaleout_probe)
fi
[ -x "$BIN" ] || die "no release build at $BIN (run without SKIP_BUILD=1)"

# --- nginx: the upstream and the anchor proxy ------------------------------------------------
nginx_conf() { # DIR BODY
  local dir=$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
$2
}
EOF
}

start_nginx() { # DIR NAME PORT
  "$NGINX" -p "$1" -c "$1/nginx.conf" -e "$1/error.log" -g 'daemon off;' >"$1/stdout.log" 2>&1 &
  PIDS+=($!)
  wait_http "$3" "$!" "$2"
}

alloc_port UP_PORT
alloc_port PROXY_PORT
alloc_port GW_PORT
alloc_port BARE_PORT
alloc_port METRICS_PORT
alloc_port PEER_PORT
alloc_port SCALE_PORT
alloc_port IDLE_PORT

nginx_conf "$WORK/upstream" "    server {
        listen 127.0.0.1:$UP_PORT;
        location / { return 200 \"ok\"; }
    }"
nginx_conf "$WORK/proxy" "    upstream app {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"

# --- the gateway -----------------------------------------------------------------------------
gateway_conf() { # DIR PORT
  mkdir -p "$1/data"
  cat >"$1/portcullis.toml" <<EOF
[server]
listen = "127.0.0.1:$2"
threads = $NPROC  # one per core, the default
work_stealing = $WORK_STEALING

[storage]
path = "$1/data/portcullis.db"
key_file = "$1/data/portcullis.key"

[session]
secure = false

[regulation]
max_failures = 100
window = "1m"
ban = "10s"

$(if [ "$METRICS" = 1 ]; then printf '[metrics]\nlisten = "127.0.0.1:%s"\n' "$METRICS_PORT"; fi)

[[apps]]
name = "bench"
upstream = "127.0.0.1:$UP_PORT"
default_policy = "one_factor"

[[apps.rules]]
paths = ["/public/**"]
policy = "bypass"
EOF
}

GW_PID=
start_gateway() { # DIR PORT
  if [ -n "$GW_LD_PRELOAD" ]; then
    LD_PRELOAD=$GW_LD_PRELOAD "$BIN" serve -c "$1/portcullis.toml" >"$1/gateway.log" 2>&1 &
  else
    "$BIN" serve -c "$1/portcullis.toml" >"$1/gateway.log" 2>&1 &
  fi
  GW_PID=$!
  PIDS+=("$GW_PID")
  wait_http "$2" "$GW_PID" "the gateway"
}

rand_password() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

add_user() { # CONF NAME PASSWORD
  printf '%s\n' "$3" | "$BIN" user add "$2" --password-stdin -c "$1" >/dev/null
}

# login_form PORT USER PASSWORD: sets LOGIN_COOKIE (the pre-session CSRF cookie) and
# LOGIN_BODY (the urlencoded form), as a browser would have them after loading the page.
login_form() {
  local jar="$WORK/jar.$2" page csrf pre
  rm -f "$jar"
  page=$(curl -sS -c "$jar" "http://127.0.0.1:$1$PREFIX/login?rd=/")
  csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n1)
  pre=$(awk -v n="${COOKIE}_csrf" '$6 == n { print $7 }' "$jar")
  if [ -z "$csrf" ] || [ -z "$pre" ]; then die "no CSRF token on the login page"; fi
  LOGIN_COOKIE="${COOKIE}_csrf=$pre"
  LOGIN_BODY="username=$2&password=$3&csrf=$csrf&rd=%2F"
}

# login PORT USER PASSWORD: prints the session cookie's value.
login() {
  local out code
  login_form "$@"
  out=$(curl -sS -o /dev/null -D - -H "Cookie: $LOGIN_COOKIE" --data "$LOGIN_BODY" \
    "http://127.0.0.1:$1$PREFIX/login")
  code=$(awk 'NR == 1 { print $2 }' <<<"$out")
  [ "$code" = 303 ] || die "login of $2 answered $code, not 303"
  sed -n "s/^[Ss]et-[Cc]ookie: $COOKIE=\([^;]*\);.*/\1/p" <<<"$out" | tr -d '\r' | head -n1
}

# expect NAME STATUS BODY-OR-LOCATION curl-args...: checks a scenario before measuring it.
expect() {
  local name=$1 want=$2 what=$3 got
  shift 3
  got=$(curl -sS -o "$WORK/expect.body" -w '%{http_code} %{redirect_url}' "$@")
  if [ "${got%% *}" != "$want" ]; then
    die "scenario $name answered ${got%% *}, expected $want"
  fi
  if [ "$want" = 200 ] && [ "$(cat "$WORK/expect.body")" != "$what" ]; then
    die "scenario $name answered a body other than '$what'"
  fi
  if [ "$want" = 302 ] && [[ ${got#* } != *"$what"* ]]; then
    die "scenario $name redirected to '${got#* }', not to $what"
  fi
}

# --- wrk and its output --------------------------------------------------------------------------
# wrk_parse FILE: "rps p50_ms p99_ms bad" where bad counts socket errors and statuses >= 400.
wrk_parse() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i + 0 }
    END { printf "%.1f %.3f %.3f %d\n", rps, p50, p99, bad }
  ' "$1"
}

median() { # numbers...
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# target TEXT VALUE LIMIT: records whether VALUE <= LIMIT for the summary.
target() {
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v != "n/a" && v + 0 <= l + 0) }'; then
    TARGETS+=("met:    $1 = $2 (target <= $3)")
  else
    TARGETS+=("MISSED: $1 = $2 (target <= $3)")
  fi
}

# target_min TEXT VALUE LIMIT: records whether VALUE >= LIMIT for the summary.
target_min() {
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v != "n/a" && v + 0 >= l + 0) }'; then
    TARGETS+=("met:    $1 = $2 (target >= $3)")
  else
    TARGETS+=("MISSED: $1 = $2 (target >= $3)")
  fi
}

# --- part 1: throughput and latency next to nginx --------------------------------------------
SCENARIOS=(upstream nginx bare gw_session gw_bypass gw_redirect)
declare -A LABEL=(
  [upstream]="a. upstream direct (limit)"
  [nginx]="b. nginx proxy, keep-alive (anchor)"
  [bare]="c. bare Pingora proxy (engine ceiling)"
  [gw_session]="d. portcullis, cached session"
  [gw_bypass]="e. portcullis, bypass route"
  [gw_redirect]="f. portcullis, no session (302)"
  [peer_bypass]="g. peer TOTP gateway, unprotected route"
  [peer_session]="h. peer TOTP gateway, cached session"
)
declare -A URL ARGS RPS P50 P99

# The peer gateway: a TOTP gateway on Pingora that does less (no users, no policies, no
# identity headers), run as it ships (pingora's default server: one thread).
PEER_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
start_peer() {
  mkdir -p "$WORK/peer"
  cat >"$WORK/peer/config.toml" <<PEER
[server]
bind_addr = "127.0.0.1:$PEER_PORT"
default_upstream = "127.0.0.1:$UP_PORT"

[auth]
totp_secret = "$PEER_SECRET"
session_duration = 3600

[[routes]]
path = "/public/*"
upstream_addr = "127.0.0.1:$UP_PORT"
protect = false

[[routes]]
path = "/*"
upstream_addr = "127.0.0.1:$UP_PORT"
protect = true
PEER
  (cd "$WORK/peer" && RUST_LOG=warn exec "$PEER_BIN" -c "$WORK/peer/config.toml") \
    >"$WORK/peer/log" 2>&1 &
  PIDS+=($!)
  wait_http "$PEER_PORT" "$!" "the peer gateway"
  local code out
  code=$(oathtool --totp -b "$PEER_SECRET")
  out=$(curl -sS -o /dev/null -D - --data "code=$code" "http://127.0.0.1:$PEER_PORT/auth")
  PEER_SESSION=$(sed -n 's/^[Ss]et-[Cc]ookie: SID=\([^;]*\);.*/\1/p' <<<"$out" | tr -d '\r' | head -n1)
  [ -n "$PEER_SESSION" ] || die "the peer gateway gave no session: $out"
}
if [ -n "$PEER_BIN" ] && [[ " $PARTS " == *" throughput "* ]]; then
  [ -x "$PEER_BIN" ] || die "PEER_BIN $PEER_BIN is not an executable"
  command -v oathtool >/dev/null || die "PEER_BIN needs oathtool to sign in to the peer gateway"
  SCENARIOS+=(peer_bypass peer_session)
fi

run_throughput() {
  local s r i order out bad
  URL[upstream]="http://127.0.0.1:$UP_PORT/"
  URL[nginx]="http://127.0.0.1:$PROXY_PORT/"
  URL[bare]="http://127.0.0.1:$BARE_PORT/"
  URL[gw_session]="http://127.0.0.1:$GW_PORT/"
  URL[gw_bypass]="http://127.0.0.1:$GW_PORT/public/x"
  URL[gw_redirect]="http://127.0.0.1:$GW_PORT/"
  ARGS[upstream]=""
  ARGS[nginx]=""
  ARGS[bare]=""
  ARGS[gw_session]="Cookie: $COOKIE=$SESSION"
  ARGS[gw_bypass]=""
  ARGS[gw_redirect]="Accept: text/html"
  if [ -n "$PEER_BIN" ]; then
    start_peer
    URL[peer_bypass]="http://127.0.0.1:$PEER_PORT/public/x"
    URL[peer_session]="http://127.0.0.1:$PEER_PORT/"
    ARGS[peer_bypass]=""
    ARGS[peer_session]="Cookie: SID=$PEER_SESSION"
    expect peer_bypass 200 ok "${URL[peer_bypass]}"
    expect peer_session 200 ok -H "${ARGS[peer_session]}" "${URL[peer_session]}"
  fi

  expect upstream 200 ok "${URL[upstream]}"
  expect nginx 200 ok "${URL[nginx]}"
  expect bare 200 ok "${URL[bare]}"
  expect gw_session 200 ok -H "${ARGS[gw_session]}" "${URL[gw_session]}"
  expect gw_bypass 200 ok "${URL[gw_bypass]}"
  expect gw_redirect 302 "$PREFIX/login?rd=" -H "${ARGS[gw_redirect]}" "${URL[gw_redirect]}"

  wrk_run() { # SCENARIO SECONDS OUT
    local hdr=()
    [ -n "${ARGS[$1]}" ] && hdr=(-H "${ARGS[$1]}")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency "${hdr[@]}" "${URL[$1]}" >"$3" 2>&1
  }

  if [ "$METRICS" = 1 ]; then
    # A Prometheus-like scraper for the whole run.
    (while sleep 5; do curl -s -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" || true; done) &
    PIDS+=($!)
  fi
  if [ "$WARMUP" -gt 0 ]; then
    log "warm-up: ${WARMUP}s per scenario"
    for s in "${SCENARIOS[@]}"; do wrk_run "$s" "$WARMUP" "$WORK/warmup.$s.txt"; done
  fi
  for r in $(seq 1 "$ROUNDS"); do
    # Alternate the order (a..f, then f..a) so drift during the run does not favour one side.
    order=("${SCENARIOS[@]}")
    if [ $((r % 2)) = 0 ]; then
      order=()
      for ((i = ${#SCENARIOS[@]} - 1; i >= 0; i--)); do order+=("${SCENARIOS[$i]}"); done
    fi
    for s in "${order[@]}"; do
      out="$WORK/wrk.$s.$r.txt"
      log "round $r/$ROUNDS: $s (${DURATION}s, -t$THREADS -c$CONNECTIONS)"
      wrk_run "$s" "$DURATION" "$out"
      read -r "RPS[$s.$r]" "P50[$s.$r]" "P99[$s.$r]" bad < <(wrk_parse "$out")
      [ "$bad" = 0 ] || die "scenario $s had $bad errors or statuses >= 400: $(cat "$out")"
    done
  done
  expect gw_session 200 ok -H "${ARGS[gw_session]}" "${URL[gw_session]}"

  local rps p50 p99 vals
  declare -gA MED_RPS MED_P50 MED_P99
  for s in "${SCENARIOS[@]}"; do
    vals=(); for r in $(seq 1 "$ROUNDS"); do vals+=("${RPS[$s.$r]}"); done
    MED_RPS[$s]=$(median "${vals[@]}")
    vals=(); for r in $(seq 1 "$ROUNDS"); do vals+=("${P50[$s.$r]}"); done
    MED_P50[$s]=$(median "${vals[@]}")
    vals=(); for r in $(seq 1 "$ROUNDS"); do vals+=("${P99[$s.$r]}"); done
    MED_P99[$s]=$(median "${vals[@]}")
  done

  {
    echo
    echo "Throughput and latency: wrk -t$THREADS -c$CONNECTIONS, ${DURATION}s x $ROUNDS alternated rounds, medians"
    echo "(gateway and bare Pingora: $NPROC threads, work_stealing = $WORK_STEALING; gateway metrics: $([ "$METRICS" = 1 ] && echo on || echo off))"
    printf '%-40s %11s %9s %9s %12s %12s %12s\n' scenario "req/s" "p50 ms" "p99 ms" "req/s vs b" "p99 vs b" "req/s vs c"
    for s in "${SCENARIOS[@]}"; do
      rps=${MED_RPS[$s]} p50=${MED_P50[$s]} p99=${MED_P99[$s]}
      printf '%-40s %11.0f %9.3f %9.3f %12s %12s %12s\n' "${LABEL[$s]}" "$rps" "$p50" "$p99" \
        "$(ratio "$rps" "${MED_RPS[nginx]}")" "$(ratio "$p99" "${MED_P99[nginx]}")" \
        "$(ratio "$rps" "${MED_RPS[bare]}")"
    done
  } | tee -a "$WORK/report.txt"
  target_min "cached session req/s vs bare Pingora" "$(ratio "${MED_RPS[gw_session]}" "${MED_RPS[bare]}")" 0.95
  target_min "bypass req/s vs bare Pingora" "$(ratio "${MED_RPS[gw_bypass]}" "${MED_RPS[bare]}")" 0.97
  if [ -n "$PEER_BIN" ]; then
    target_min "cached session req/s vs the peer gateway's cached session" \
      "$(ratio "${MED_RPS[gw_session]}" "${MED_RPS[peer_session]}")" 1.00
  fi
}

# --- part 1b: reload under load -------------------------------------------------------------
# RELOADS reloads while wrk keeps requesting with a session: each one swaps between two
# configurations that differ in a rule, half by SIGHUP and half through `portcullis reload`.
# Every request must be answered 200 and the session must outlive them all.
run_reload() {
  local conf="$WORK/gw/portcullis.toml" base="$WORK/gw/reload.base.toml"
  local alt="$WORK/gw/reload.alt.toml" out="$WORK/wrk.reload.txt" log="$WORK/gw/gateway.log"
  local before n i want deadline wrk_pid rps bad refused kept=yes
  cp "$conf" "$base"
  { cat "$base"; printf '\n[[apps.rules]]\npaths = ["/reloaded/**"]\npolicy = "deny"\n'; } >"$alt"
  expect gw_session 200 ok -H "Cookie: $COOKIE=$SESSION" "http://127.0.0.1:$GW_PORT/"
  before=$(grep -c "configuration reloaded\|reload refused" "$log" || true)
  log "reload: $RELOADS reloads during ${RELOAD_SECONDS}s of wrk -t$THREADS -c$CONNECTIONS with a session"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$RELOAD_SECONDS"s -H "Cookie: $COOKIE=$SESSION" \
    "http://127.0.0.1:$GW_PORT/" >"$out" 2>&1 &
  wrk_pid=$!
  sleep 1
  for i in $(seq 1 "$RELOADS"); do
    if [ $((i % 2)) = 1 ]; then cp "$alt" "$conf"; else cp "$base" "$conf"; fi
    if [ $((i % 4)) -lt 2 ]; then
      kill -HUP "$GW_PID"
    else
      "$BIN" reload -c "$conf" >/dev/null
    fi
    # The next reload only once this one is applied (or refused), so that none coalesce.
    want=$((before + i))
    deadline=$((SECONDS + 10))
    while n=$(grep -c "configuration reloaded\|reload refused" "$log" || true); [ "$n" -lt "$want" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die "reload $i was not applied within 10 s"
      sleep 0.02
    done
    sleep 0.1
  done
  kill -0 "$wrk_pid" 2>/dev/null || die "wrk ended before the $RELOADS reloads did; raise RELOAD_SECONDS"
  wait "$wrk_pid"
  cp "$base" "$conf"
  read -r rps _ _ bad < <(wrk_parse "$out")
  refused=$(grep -c "reload refused" "$log" || true)
  n=$(($(grep -c "configuration reloaded\|reload refused" "$log" || true) - before - refused))
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE=$SESSION" \
    "http://127.0.0.1:$GW_PORT/")" = 200 ] || kept=no
  {
    echo
    echo "Reload under load: $n of $RELOADS reloads applied ($refused refused) while wrk -t$THREADS -c$CONNECTIONS ran ${RELOAD_SECONDS}s with a session"
    printf '  %.0f req/s; %s requests failed (socket errors or status >= 400); session kept: %s\n' \
      "$rps" "$bad" "$kept"
  } | tee -a "$WORK/report.txt"
  target "requests failed during $RELOADS reloads" "$bad" 0
  target "reloads not applied" "$((RELOADS - n))" 0
  [ "$kept" = yes ] || TARGETS+=("MISSED: the session did not outlive the reloads")
}

# --- part 2: login storm ---------------------------------------------------------------------------
run_storm() {
  local r mode out storm_out storm_pid bad x p50 p99 m_rest m_storm
  login_form "$GW_PORT" storm "$STORM_PASSWORD"
  # One login by hand with exactly what wrk will post.
  x=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $LOGIN_COOKIE" --data "$LOGIN_BODY" \
    "http://127.0.0.1:$GW_PORT$PREFIX/login")
  [ "$x" = 303 ] || die "the storm's login answered $x, not 303"
  export LOGIN_COOKIE LOGIN_BODY PACE_MS

  proxied() { # MODE SECONDS OUT
    local script=()
    [ "$1" = paced ] && script=(-s "$ROOT/bench/paced.lua")
    wrk -t1 -c"$STORM_CONNECTIONS" -d"$2"s --latency "${script[@]}" \
      -H "Cookie: $COOKIE=$SESSION" "http://127.0.0.1:$GW_PORT/" >"$3" 2>&1
  }
  {
    echo
    echo "Login storm: proxied wrk -t1 -c$STORM_CONNECTIONS with a session, alone and while $STORM_CLIENTS connections post correct logins; ${DURATION}s x $ROUNDS rounds, medians"
    printf '%-22s %12s %12s %12s %12s %8s %10s %13s\n' "proxied load" "rest req/s" "rest p99 ms" \
      "storm req/s" "storm p99 ms" "ratio" "logins/s" "login p99 ms"
  } | tee -a "$WORK/report.txt"
  for mode in $STORM_MODES; do
    [ "$mode" = paced ] || [ "$mode" = saturating ] || die "STORM_MODES: unknown mode $mode"
    local rest=() storm=() rest_rps=() storm_rps=() login_rps=() login_p99=()
    for r in $(seq 1 "$ROUNDS"); do
      out="$WORK/storm.$mode.rest.$r.txt"
      log "storm ($mode) round $r/$ROUNDS: proxied at rest (${DURATION}s, -c$STORM_CONNECTIONS)"
      proxied "$mode" "$DURATION" "$out"
      read -r x _ p99 bad < <(wrk_parse "$out")
      [ "$bad" = 0 ] || die "proxied requests failed at rest: $(cat "$out")"
      rest+=("$p99") rest_rps+=("$x")

      storm_out="$WORK/storm.$mode.logins.$r.txt"
      log "storm ($mode) round $r/$ROUNDS: proxied while $STORM_CLIENTS clients post logins"
      wrk -t1 -c"$STORM_CLIENTS" -d$((DURATION + 2))s --timeout 30s --latency \
        -s "$ROOT/bench/login.lua" "http://127.0.0.1:$GW_PORT$PREFIX/login" >"$storm_out" 2>&1 &
      storm_pid=$!
      PIDS+=("$storm_pid")
      sleep 1
      out="$WORK/storm.$mode.busy.$r.txt"
      proxied "$mode" "$DURATION" "$out"
      wait "$storm_pid" || die "the login storm failed: $(cat "$storm_out")"
      read -r x _ p99 bad < <(wrk_parse "$out")
      [ "$bad" = 0 ] || die "proxied requests failed during the storm: $(cat "$out")"
      storm+=("$p99") storm_rps+=("$x")
      read -r x p50 p99 bad < <(wrk_parse "$storm_out")
      [ "$bad" = 0 ] || die "logins failed during the storm: $(cat "$storm_out")"
      login_rps+=("$x") login_p99+=("$p99")
    done
    m_rest=$(median "${rest[@]}")
    m_storm=$(median "${storm[@]}")
    local label=$mode
    [ "$mode" = paced ] && label="paced (${PACE_MS} ms wait)"
    target "login storm p99 ratio, $label load" "$(ratio "$m_storm" "$m_rest")" 1.5
    printf '%-22s %12.0f %12.3f %12.0f %12.3f %8s %10.1f %13.1f\n' "$label" \
      "$(median "${rest_rps[@]}")" "$m_rest" "$(median "${storm_rps[@]}")" "$m_storm" \
      "$(ratio "$m_storm" "$m_rest")" "$(median "${login_rps[@]}")" "$(median "${login_p99[@]}")" |
      tee -a "$WORK/report.txt"
  done
  echo "  target: storm p99 / rest p99 <= 1.5" | tee -a "$WORK/report.txt"
}

# --- part 3: memory and cache misses with many sessions -------------------------------------------
rss_kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
touch_field() { sed -n "s/.*\b$2=\([0-9.]*\).*/\1/p" "$1"; }

run_scale() {
  local dir="$WORK/scale" total=$((SCALE_SESSIONS + SCALE_PROBE)) base url
  gateway_conf "$dir" "$SCALE_PORT"
  log "seeding $total sessions over $SCALE_USERS users"
  "$EXAMPLES/seed_sessions" "$dir/portcullis.toml" "$total" "$dir/all.txt" "$SCALE_USERS" >&2
  head -n "$SCALE_SESSIONS" "$dir/all.txt" >"$dir/cookies.txt"
  tail -n "$SCALE_PROBE" "$dir/all.txt" >"$dir/probe.txt"
  start_gateway "$dir" "$SCALE_PORT"
  local pid=$GW_PID
  url="http://127.0.0.1:$SCALE_PORT/"
  curl -sS -o /dev/null "${url}public/x"
  sleep 1
  base=$(rss_kib "$pid" VmRSS)

  log "touching $SCALE_SESSIONS sessions once ($TOUCH_CONCURRENCY in flight): cache misses"
  "$EXAMPLES/touch_sessions" "$url" "$COOKIE" "$dir/cookies.txt" "$TOUCH_CONCURRENCY" \
    >"$dir/touch.miss.txt" || die "touching sessions failed: $(cat "$dir/touch.miss.txt")"
  local after_miss
  after_miss=$(rss_kib "$pid" VmRSS)
  log "touching them again: cache hits"
  "$EXAMPLES/touch_sessions" "$url" "$COOKIE" "$dir/cookies.txt" "$TOUCH_CONCURRENCY" \
    >"$dir/touch.hit.txt" || die "touching sessions failed: $(cat "$dir/touch.hit.txt")"
  log "touching $SCALE_PROBE more sessions one at a time: miss, then hit"
  "$EXAMPLES/touch_sessions" "$url" "$COOKIE" "$dir/probe.txt" 1 >"$dir/probe.miss.txt" ||
    die "probing failed: $(cat "$dir/probe.miss.txt")"
  "$EXAMPLES/touch_sessions" "$url" "$COOKIE" "$dir/probe.txt" 1 >"$dir/probe.hit.txt" ||
    die "probing failed: $(cat "$dir/probe.hit.txt")"
  local rss hwm
  rss=$(rss_kib "$pid" VmRSS)
  hwm=$(rss_kib "$pid" VmHWM)
  local m50 m99 h50 h99
  m50=$(touch_field "$dir/probe.miss.txt" p50_us) m99=$(touch_field "$dir/probe.miss.txt" p99_us)
  h50=$(touch_field "$dir/probe.hit.txt" p50_us) h99=$(touch_field "$dir/probe.hit.txt" p99_us)
  if [ "$SCALE_SESSIONS" -ge 100000 ]; then
    target "gateway RSS with $total sessions cached, MiB" "$(mib "$rss")" 150
  else
    TARGETS+=("n/a:    gateway RSS target is for 100000 sessions; this run had $total")
  fi
  target "request with an uncached session, p99 us (one at a time)" "$m99" 1000
  {
    echo
    echo "Sessions at scale: $total live sessions of $SCALE_USERS users, each touched through the proxy"
    printf '  gateway RSS: %s MiB at start, %s MiB after %s first touches, %s MiB with all %s cached (peak %s MiB; target <= 150 MiB)\n' \
      "$(mib "$base")" "$(mib "$after_miss")" "$SCALE_SESSIONS" "$(mib "$rss")" "$total" "$(mib "$hwm")"
    printf '  first touch (miss), %s in flight: %s req/s, p50 %s us, p99 %s us\n' "$TOUCH_CONCURRENCY" \
      "$(touch_field "$dir/touch.miss.txt" rps)" "$(touch_field "$dir/touch.miss.txt" p50_us)" \
      "$(touch_field "$dir/touch.miss.txt" p99_us)"
    printf '  second touch (hit), %s in flight: %s req/s, p50 %s us, p99 %s us\n' "$TOUCH_CONCURRENCY" \
      "$(touch_field "$dir/touch.hit.txt" rps)" "$(touch_field "$dir/touch.hit.txt" p50_us)" \
      "$(touch_field "$dir/touch.hit.txt" p99_us)"
    printf '  one at a time, %s sessions: miss p50 %s us / p99 %s us, hit p50 %s us / p99 %s us\n' \
      "$SCALE_PROBE" "$m50" "$m99" "$h50" "$h99"
    printf '  a request whose session is not cached: p99 %s us, whole request included (target for the lookup: p99 <= 1000 us);\n' "$m99"
    printf '  the miss adds about %s us at the median (miss p50 - hit p50); cargo bench -- session/load_miss isolates the lookup\n' \
      "$((m50 - h50))"
  } | tee -a "$WORK/report.txt"
}

# --- part 4: idle keep-alive connections -----------------------------------------------------------
# hold_idle PORT N DIR: opens N connections, sends one keep-alive request on each and reads its
# answer, writes DIR/held, keeps them until DIR/release appears, closes them, writes DIR/closed.
hold_idle() {
  python3 - "$@" <<'PY' &
import os, socket, sys, time
port, n, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET /public/idle HTTP/1.1\r\nHost: bench\r\n\r\n"
held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection %d closed before its answer" % i)
        got += chunk
    held.append(s)
open(os.path.join(d, "held"), "w").close()
while not os.path.exists(os.path.join(d, "release")):
    time.sleep(0.1)
for s in held:
    s.close()
open(os.path.join(d, "closed"), "w").close()
PY
  PIDS+=($!)
  HOLDER=$!
}

wait_file() { # FILE PID
  local i
  for i in $(seq 1 1200); do
    [ -e "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || die "the connection holder exited; see the output above"
    sleep 0.1
  done
  die "timed out waiting for $1"
}

# tree_rss_kib PID: the resident memory of a process and its children (nginx's workers).
tree_rss_kib() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(rss_kib "$p" VmRSS)))
  done
  echo "$total"
}

# idle_memory NAME PORT PID: prints "before during after" RSS in KiB around a burst of idle
# connections that are then closed and left to settle for IDLE_SETTLE seconds.
idle_memory() {
  local dir="$WORK/idle.$1" before during after
  mkdir -p "$dir"
  sleep 1
  before=$(tree_rss_kib "$3")
  hold_idle "$2" "$IDLE_CONNECTIONS" "$dir"
  wait_file "$dir/held" "$HOLDER"
  sleep 2
  during=$(tree_rss_kib "$3")
  touch "$dir/release"
  wait_file "$dir/closed" "$HOLDER"
  sleep "$IDLE_SETTLE"
  after=$(tree_rss_kib "$3")
  echo "$before $during $after"
}

run_idle() {
  local dir="$WORK/idle" g n per back
  gateway_conf "$dir" "$IDLE_PORT"
  # Room for every connection whatever the open-file limit derives.
  sed -i "s/^threads = .*/&\nmax_connections = $((IDLE_CONNECTIONS + 1000))/" "$dir/portcullis.toml"
  ulimit -n "$(ulimit -Hn)"
  start_gateway "$dir" "$IDLE_PORT"
  curl -sS -o /dev/null "http://127.0.0.1:$IDLE_PORT/public/x"
  log "holding $IDLE_CONNECTIONS idle keep-alive connections to the gateway"
  read -r -a g <<<"$(idle_memory gateway "$IDLE_PORT" "$GW_PID")"
  log "holding $IDLE_CONNECTIONS idle keep-alive connections to nginx"
  read -r -a n <<<"$(idle_memory nginx "$PROXY_PORT" "$(cat "$WORK/proxy/nginx.pid")")"
  per=$(awk -v a="${g[0]}" -v b="${g[1]}" -v n="$IDLE_CONNECTIONS" 'BEGIN { printf "%.1f", (b - a) / n }')
  back=$(awk -v a="${g[0]}" -v c="${g[2]}" 'BEGIN { printf "%.0f", (c - a) * 100 / a }')
  target "gateway RSS growth per idle connection, KiB" "$per" 30
  target "gateway RSS $IDLE_SETTLE s after the burst, % above its value before" "$back" 25
  {
    echo
    echo "Idle keep-alive connections: $IDLE_CONNECTIONS held open, then closed"
    printf '  gateway RSS: %s MiB before, %s MiB held (%s KiB per connection), %s MiB %s s after closing\n' \
      "$(mib "${g[0]}")" "$(mib "${g[1]}")" "$per" "$(mib "${g[2]}")" "$IDLE_SETTLE"
    printf '  nginx (master and workers): %s MiB before, %s MiB held, %s MiB %s s after closing\n' \
      "$(mib "${n[0]}")" "$(mib "${n[1]}")" "$(mib "${n[2]}")" "$IDLE_SETTLE"
  } | tee -a "$WORK/report.txt"
}

# --- part 6: two gateways on one PostgreSQL (scale-out) -------------------------------------------
# cpu_ticks PID...: user + system clock ticks the processes have used so far.
cpu_ticks() {
  local pid t=0
  for pid in "$@"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$t"
}

run_scaleout() {
  local pgbin pgdir pgport pg_pid url a_port b_port lb_port a_pid b_pid as_pg=() line
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$pgbin" ] || die "the scaleout part needs PostgreSQL (apt-get install postgresql)"
  pgdir="$WORK/pg"
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
  log "scaleout: a throw-away PostgreSQL cluster"
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >"$pgdir/initdb.log" 2>&1
  alloc_port pgport
  "${as_pg[@]}" "$pgbin/postgres" -D "$pgdir/data" -p "$pgport" -k "$pgdir" \
    -c listen_addresses=127.0.0.1 >"$pgdir/postgres.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break
    sleep 0.1
  done
  pg_pid=$(head -n1 "$pgdir/data/postmaster.pid")
  PIDS+=("$pg_pid")
  "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres -c "CREATE DATABASE portcullis"
  url="postgres://postgres@127.0.0.1:$pgport/portcullis"

  alloc_port a_port
  alloc_port b_port
  alloc_port lb_port
  # Two replicas: the same database and key file, a control socket each.
  gateway_conf "$WORK/sa" "$a_port"
  gateway_conf "$WORK/sb" "$b_port"
  for d in sa sb; do
    sed -i "s|^key_file = .*|key_file = \"$WORK/sa/data/portcullis.key\"\nurl = \"$url\"|" \
      "$WORK/$d/portcullis.toml"
  done
  local password
  password=$(rand_password)
  add_user "$WORK/sa/portcullis.toml" bench "$password"
  start_gateway "$WORK/sa" "$a_port"
  a_pid=$GW_PID
  start_gateway "$WORK/sb" "$b_port"
  b_pid=$GW_PID
  nginx_conf "$WORK/lb" "    upstream pair {
        server 127.0.0.1:$a_port;
        server 127.0.0.1:$b_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$lb_port;
        location / {
            proxy_pass http://pair;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header Connection \"\";
        }
    }"
  start_nginx "$WORK/lb" "nginx in front of the pair" "$lb_port"

  log "scaleout: $SCALEOUT_ROUNDS revocations and cache misses"
  "$EXAMPLES/scaleout_probe" "$WORK/sa/portcullis.toml" "127.0.0.1:$a_port" "127.0.0.1:$b_port" \
    "$SCALEOUT_ROUNDS" >"$WORK/probe.txt"
  local rev miss hit
  rev=($(awk '$1 == "revocation_seen_by_other_replica_ms" { print $2, $3, $4 }' "$WORK/probe.txt"))
  miss=($(awk '$1 == "cache_miss_request_ms" { print $2, $3, $4 }' "$WORK/probe.txt"))
  hit=($(awk '$1 == "cached_request_ms" { print $2, $3, $4 }' "$WORK/probe.txt"))
  [ ${#rev[@]} = 3 ] && [ ${#miss[@]} = 3 ] || die "the probe printed no figures; see $WORK/probe.txt"

  # Cached-session throughput: one replica alone, then the pair behind nginx. Both replicas
  # share the machine's cores with each other, nginx and wrk: the pair cannot double here.
  local session one_out pair_out t0 t1 one_rps pair_rps one_cpu pair_cpu tck
  session=$(login "$a_port" bench "$password")
  expect scaleout_pair 200 ok -H "Cookie: $COOKIE=$session" "http://127.0.0.1:$lb_port/"
  tck=$(getconf CLK_TCK)
  t0=$(cpu_ticks "$a_pid")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION"s --latency -H "Cookie: $COOKIE=$session" \
    "http://127.0.0.1:$a_port/" >"$WORK/scaleout.one.txt" 2>&1
  t1=$(cpu_ticks "$a_pid")
  read -r one_rps _ _ _ <<<"$(wrk_parse "$WORK/scaleout.one.txt")"
  one_cpu=$(awk -v t=$((t1 - t0)) -v hz="$tck" -v r="$one_rps" -v d="$DURATION" \
    'BEGIN { printf "%.1f", (r > 0) ? t / hz / (r * d) * 1e6 : 0 }')
  t0=$(cpu_ticks "$a_pid" "$b_pid")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION"s --latency -H "Cookie: $COOKIE=$session" \
    "http://127.0.0.1:$lb_port/" >"$WORK/scaleout.pair.txt" 2>&1
  t1=$(cpu_ticks "$a_pid" "$b_pid")
  read -r pair_rps _ _ _ <<<"$(wrk_parse "$WORK/scaleout.pair.txt")"
  pair_cpu=$(awk -v t=$((t1 - t0)) -v hz="$tck" -v r="$pair_rps" -v d="$DURATION" \
    'BEGIN { printf "%.1f", (r > 0) ? t / hz / (r * d) * 1e6 : 0 }')

  {
    echo
    echo "Scale-out: two gateways on one PostgreSQL $("$pgbin/postgres" --version | awk '{ print $3 }'), nginx round robin in front"
    printf '  revocation seen by the other replica over %s: p50 %s ms, p99 %s ms, max %s ms\n' \
      "$SCALEOUT_ROUNDS" "${rev[0]}" "${rev[1]}" "${rev[2]}"
    printf '  request with a session not cached yet (PostgreSQL read): p50 %s ms, p99 %s ms, max %s ms\n' \
      "${miss[0]}" "${miss[1]}" "${miss[2]}"
    printf '  request with a cached session (same probe, new connection each): p50 %s ms, p99 %s ms\n' \
      "${hit[0]}" "${hit[1]}"
    printf '  cached-session throughput: one replica %s req/s (%s us CPU per request), the pair behind nginx %s req/s (%s us gateway CPU per request)\n' \
      "$one_rps" "$one_cpu" "$pair_rps" "$pair_cpu"
  } | tee -a "$WORK/report.txt"
  target "scaleout: revocation seen by the other replica, p99 (ms)" "${rev[1]}" 1000
  target "scaleout: cache-miss request, p99 (ms)" "${miss[1]}" 2
  # The pair and PostgreSQL stop here, so later parts measure the machine without them.
  stop_pid "$a_pid"
  stop_pid "$b_pid"
  kill -INT "$pg_pid" 2>/dev/null || true
}

# h2load_parse FILE: "rps ok" (requests a second, and whether every request got a 2xx).
h2load_parse() {
  local rps done ok
  rps=$(sed -n 's/^finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p' "$1")
  done=$(sed -n 's/^requests: .* \([0-9]*\) done,.*/\1/p' "$1")
  ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$1")
  if [ -n "$done" ] && [ "$done" = "$ok" ] && [ "$done" -gt 0 ]; then echo "${rps%.*} yes"; else echo "${rps%.*} no"; fi
}

# The HTTPS listener: a cached session over TLS, HTTP/1.1 (one request at a time per
# connection) and HTTP/2 (streams multiplexed on fewer connections), with the gateway's CPU per
# request. The certificate is an ECDSA P-256 one, as ACME orders.
run_tls() {
  command -v h2load >/dev/null || die "the tls part needs h2load (apt-get install nghttp2-client)"
  local dir="$WORK/tls" port tls_port session t0 t1 tck out rps ok cpu h1 h2
  alloc_port port
  alloc_port tls_port
  gateway_conf "$dir" "$port"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost 2>/dev/null
  sed -i 's/^work_stealing = .*/&\nredirect_to_https = false/' "$dir/portcullis.toml"
  printf '\n[server.tls]\nlisten = "127.0.0.1:%s"\ncert = "%s"\nkey = "%s"\n' \
    "$tls_port" "$dir/cert.pem" "$dir/key.pem" >>"$dir/portcullis.toml"
  local password
  password=$(rand_password)
  add_user "$dir/portcullis.toml" bench "$password"
  start_gateway "$dir" "$port"
  local pid=$GW_PID
  session=$(login "$port" bench "$password")
  expect tls_session 200 ok -k --http2 -H "Cookie: $COOKIE=$session" "https://localhost:$tls_port/"
  tck=$(getconf CLK_TCK)
  log "tls: HTTP/1.1 and HTTP/2 over TLS with a cached session"
  for proto in h1 h2; do
    out="$WORK/tls.$proto.txt"
    t0=$(cpu_ticks "$pid")
    if [ $proto = h1 ]; then
      h2load --h1 -t"$THREADS" -c"$CONNECTIONS" -D"$DURATION" -H "Cookie: $COOKIE=$session" \
        "https://localhost:$tls_port/" >"$out" 2>&1
    else
      h2load -t"$THREADS" -c"$((CONNECTIONS / 4))" -m16 -D"$DURATION" \
        -H "Cookie: $COOKIE=$session" "https://localhost:$tls_port/" >"$out" 2>&1
    fi
    t1=$(cpu_ticks "$pid")
    read -r rps ok <<<"$(h2load_parse "$out")"
    [ "$ok" = yes ] || die "tls $proto: not every request got a 2xx; see $out"
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$tck" -v r="$rps" -v d="$DURATION" \
      'BEGIN { printf "%.1f", (r > 0) ? t / hz / (r * d) * 1e6 : 0 }')
    printf -v "$proto" '%s req/s (%s us CPU per request)' "$rps" "$cpu"
  done
  {
    echo
    echo "HTTPS listener, cached session, h2load $(h2load --version | awk '{ print $2; exit }')"
    printf '  HTTP/1.1 over TLS, %s connections: %s\n' "$CONNECTIONS" "$h1"
    printf '  HTTP/2 over TLS, %s connections x 16 streams: %s\n' "$((CONNECTIONS / 4))" "$h2"
  } | tee -a "$WORK/report.txt"
  stop_pid "$pid"
}

# --- main ---------------------------------------------------------------------------------------------
{
  echo "Portcullis benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "$NPROC cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$("$NGINX" -v 2>&1), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), gateway threads = $NPROC, nginx worker_processes auto"
  if [ -n "$GW_LD_PRELOAD" ]; then echo "EXPERIMENT: gateway run with LD_PRELOAD=$GW_LD_PRELOAD"; fi
} | tee "$WORK/report.txt"

log "starting nginx upstream (:$UP_PORT) and nginx proxy (:$PROXY_PORT)"
start_nginx "$WORK/upstream" "nginx upstream" "$UP_PORT"
start_nginx "$WORK/proxy" "nginx proxy" "$PROXY_PORT"
if [[ " $PARTS " == *" throughput "* ]]; then
  log "starting the bare Pingora proxy (:$BARE_PORT)"
  "$EXAMPLES/bare_pingora" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" "$NPROC" "$BARE_FLAVOUR" \
    >"$WORK/bare.log" 2>&1 &
  PIDS+=($!)
  wait_http "$BARE_PORT" "$!" "the bare Pingora proxy"
fi

if [[ " $PARTS " == *" throughput "* || " $PARTS " == *" storm "* || " $PARTS " == *" reload "* ]]; then
  gateway_conf "$WORK/gw" "$GW_PORT"
  BENCH_PASSWORD=$(rand_password)
  STORM_PASSWORD=$(rand_password)
  add_user "$WORK/gw/portcullis.toml" bench "$BENCH_PASSWORD"
  add_user "$WORK/gw/portcullis.toml" storm "$STORM_PASSWORD"
  log "starting the gateway (:$GW_PORT)"
  start_gateway "$WORK/gw" "$GW_PORT"
  SESSION=$(login "$GW_PORT" bench "$BENCH_PASSWORD")
  [ -n "$SESSION" ] || die "no session cookie after logging in"
fi
if [[ " $PARTS " == *" throughput "* ]]; then run_throughput; fi
if [[ " $PARTS " == *" reload "* ]]; then run_reload; fi
if [[ " $PARTS " == *" storm "* ]]; then run_storm; fi
if [[ " $PARTS " == *" scale "* ]]; then
  # The scale part runs alone: stop the first gateway so its memory and threads do not count.
  if [ -n "$GW_PID" ]; then stop_pid "$GW_PID"; fi
  run_scale
fi
if [[ " $PARTS " == *" scaleout "* ]]; then
  if [ -n "$GW_PID" ]; then stop_pid "$GW_PID"; fi
  run_scaleout
fi
if [[ " $PARTS " == *" tls "* ]]; then
  if [ -n "$GW_PID" ]; then stop_pid "$GW_PID"; fi
  run_tls
fi
if [[ " $PARTS " == *" idle "* ]]; then
  # Alone as well: the gateway before it would count in its memory.
  if [ -n "$GW_PID" ]; then stop_pid "$GW_PID"; fi
  run_idle
fi

if [ ${#TARGETS[@]} -gt 0 ]; then
  {
    echo
    echo "Targets"
    printf '  %s\n' "${TARGETS[@]}"
  } | tee -a "$WORK/report.txt"
fi
echo
if [ "$KEEP" = 1 ]; then echo "Report and raw output: $WORK"; fi
