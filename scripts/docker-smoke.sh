#!/usr/bin/env bash
# Smoke test of the 3-broker Docker Compose cluster (docker-compose.yml), run by .ci/run:
#   1. Docker: installs docker.io / docker-compose / iptables from Debian if missing, starts dockerd if
#      none answers (and stops it again at the end), builds the local node:20-bookworm-slim base image
#      if missing (all three via scripts/docker-base-image.sh);
#   2. docker-compose build + up -d; waits for 3 healthy brokers and for the controller quorum
#      (one "controller: activated", every broker "registered with the controller");
#   3. creates topic "smoke" (3 partitions, replication factor 3), waits until every partition has a
#      leader and 3 in-sync replicas, produces N keyed records with acks=all, consumes them back;
#   4. docker kill's the leader of partition 0, waits for new leaders, produces N more (acks=all),
#      consumes all 2N back (old and new) from the survivors, inside the compose network and, when
#      possible, from the host through the published ports (the README's recipe);
#   5. always (trap): docker-compose down -v, and dockerd stopped if this script started it.
# Exit status non-zero on any failure; the brokers' last log lines are printed then.
# Must run as root (package installs, dockerd). Settings (environment):
#   FERRY_SMOKE_RECORDS (default 1000)        records per produce round
#   FERRY_SMOKE_PROJECT (default ferry-smoke) compose project name (keeps clear of a dev's "ferry")
#   FERRY_SMOKE_HEALTH_TIMEOUT (default 120)  seconds to wait for 3 healthy brokers
#   FERRY_SMOKE_KEEP=1                        leave the cluster (and dockerd) running for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${FERRY_SMOKE_RECORDS:-1000}"
PROJECT="${FERRY_SMOKE_PROJECT:-ferry-smoke}"
HEALTH_TIMEOUT="${FERRY_SMOKE_HEALTH_TIMEOUT:-120}"
TOPIC=smoke
SERVICES=(ferry-1 ferry-2 ferry-3)
declare -A PORT=([ferry-1]=19092 [ferry-2]=19093 [ferry-3]=19094) # FERRYn_PORT in docker-compose.yml
ALIVE=("${SERVICES[@]}")

T0=$(date +%s%N)
STEP_T0=$T0
STEP_NAME=""
TIMINGS=()
WORK="$(mktemp -d /tmp/ferry-smoke.XXXXXX)"
DOCKERD_PID_FILE="$WORK/dockerd.pid"
STARTED_DOCKERD=0
COMPOSE_UP=0

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
log() { printf '[smoke +%6.1fs] %s\n' "$(awk "BEGIN{print $(ms_since "$T0")/1000}")" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
step() { # step NAME: closes the previous step's timing, opens the next
  if [ -n "$STEP_NAME" ]; then TIMINGS+=("$(printf '%-34s %7.1fs' "$STEP_NAME" "$(awk "BEGIN{print $(ms_since "$STEP_T0")/1000}")")"); fi
  STEP_NAME="$1"
  STEP_T0=$(date +%s%N)
  [ -n "$1" ] && log "== $1"
  return 0
}

if [ "$(id -u)" -ne 0 ]; then
  echo "docker-smoke: must run as root (installs packages, starts dockerd)" >&2
  exit 1
fi

# Compose v1 (Debian's docker-compose) or the v2 plugin; set once Docker is installed.
COMPOSE=()
compose() { "${COMPOSE[@]}" -p "$PROJECT" "$@"; }
declare -A CID=() # container ids, looked up once after `up` (compose v1 takes ~0.3 s per call)
cid() { if [ -n "${CID[$1]:-}" ]; then echo "${CID[$1]}"; else compose ps -q "$1"; fi; }

bootstrap() { # the brokers still running, as HOST:PORT,… (compose service names)
  local out="" s
  for s in "${ALIVE[@]}"; do out+="${out:+,}$s:${PORT[$s]}"; done
  echo "$out"
}

# Runs the ferry CLI in a one-off container on the compose network ("client" service). stdout is the
# CLI's; its stderr goes to ours without compose's "Creating ..." lines. stdin: /dev/null, except for
# ferry_stdin (produce).
ferry() { ferry_stdin "$@" </dev/null; }
ferry_stdin() {
  local rc=0
  compose run --rm -T client "$@" --bootstrap "$(bootstrap)" 2>"$WORK/client.err" || rc=$?
  grep -v -e '^Creating .*_run' -e '^Removing .*_run' "$WORK/client.err" >&2 || true
  return "$rc"
}

dump_logs() {
  log "compose ps:"
  compose ps >&2 || true
  local s id
  for s in "${SERVICES[@]}"; do
    id="$(cid "$s" 2>/dev/null || true)"
    [ -n "$id" ] || continue
    log "last log lines of $s:"
    docker logs --tail 40 "$id" 2>&1 | cut -c1-400 >&2 || true
  done
}

cleanup() {
  local rc=$?
  set +e
  step ""
  if [ "$rc" -ne 0 ] && [ "$COMPOSE_UP" -eq 1 ]; then dump_logs; fi
  if [ -n "${FERRY_SMOKE_KEEP:-}" ]; then
    log "FERRY_SMOKE_KEEP set: leaving project $PROJECT up (stop: ${COMPOSE[*]} -p $PROJECT down -v)"
    [ "$STARTED_DOCKERD" -eq 0 ] || log "and dockerd: kill \$(cat $DOCKERD_PID_FILE) (log: $WORK/dockerd.log)"
  else
    if [ "$COMPOSE_UP" -eq 1 ]; then
      # kill first: the data is thrown away anyway, and a clean stop of the last two brokers at once
      # waits out the controlled-shutdown timeout (15 s) on one of them (no controller quorum left).
      local t=$(date +%s%N)
      compose kill >"$WORK/down.log" 2>&1
      compose down -v --remove-orphans -t 5 >>"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; rc=1; }
      TIMINGS+=("$(printf '%-34s %7.1fs' "docker-compose kill, down -v" "$(awk "BEGIN{print $(ms_since "$t")/1000}")")")
    fi
    if [ "$STARTED_DOCKERD" -eq 1 ] && [ -s "$DOCKERD_PID_FILE" ]; then
      local pid
      pid="$(cat "$DOCKERD_PID_FILE")"
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then log "dockerd (PID $pid) still running after 30 s"; rc=1; else log "stopped dockerd (PID $pid)"; fi
    fi
  fi
  if [ "${#TIMINGS[@]}" -gt 0 ]; then
    printf '\n[smoke] timings:\n' >&2
    printf '  %s\n' "${TIMINGS[@]}" >&2
  fi
  printf '[smoke] %s in %.1fs\n' "$([ "$rc" -eq 0 ] && echo PASSED || echo FAILED)" "$(awk "BEGIN{print $(ms_since "$T0")/1000}")" >&2
  [ -n "${FERRY_SMOKE_KEEP:-}" ] || rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. Docker -----------------------------------------------------------------------------------
step "docker: packages, daemon, base image"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  log "dockerd already running (left running at the end)"
else
  STARTED_DOCKERD=1 # docker-base-image.sh starts it and writes its PID file
fi
FERRY_DOCKERD_PID_FILE="$DOCKERD_PID_FILE" FERRY_DOCKERD_LOG="$WORK/dockerd.log" bash scripts/docker-base-image.sh
[ "$STARTED_DOCKERD" -eq 0 ] || [ -s "$DOCKERD_PID_FILE" ] || fail "dockerd was not started by scripts/docker-base-image.sh"
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
else
  fail "neither docker-compose nor the docker compose plugin is available"
fi
log "compose: ${COMPOSE[*]} $("${COMPOSE[@]}" version --short 2>/dev/null || true)"
compose down -v --remove-orphans -t 5 >/dev/null 2>&1 || true # leftovers of an interrupted run

# --- 2. Cluster ----------------------------------------------------------------------------------
# The brokers' ports (the same inside and outside, see docker-compose.yml): 19092-19094 unless one is
# taken on the host (a developer's own brokers, say); then three free ones.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; } # something answers there
if port_taken 19092 || port_taken 19093 || port_taken 19094; then
  read -r p1 p2 p3 < <(node -e '
    const net = require("net");
    const servers = [0, 1, 2].map(() => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });')
  PORT=([ferry-1]=$p1 [ferry-2]=$p2 [ferry-3]=$p3)
  log "a port of 19092-19094 is in use on the host; using ${PORT[ferry-1]} ${PORT[ferry-2]} ${PORT[ferry-3]}"
fi
export FERRY1_PORT="${PORT[ferry-1]}" FERRY2_PORT="${PORT[ferry-2]}" FERRY3_PORT="${PORT[ferry-3]}"

step "docker-compose build"
# All three services name the same image (ferry:compose); building ferry-1 builds it once.
compose build ferry-1 >"$WORK/build.log" 2>&1 || {
  tail -n 40 "$WORK/build.log" >&2
  fail "docker-compose build"
}

step "docker-compose up -d"
COMPOSE_UP=1
compose up -d "${SERVICES[@]}" >&2
for s in "${SERVICES[@]}"; do
  CID[$s]="$(compose ps -q "$s")"
  [ -n "${CID[$s]}" ] || fail "no container for $s"
done

step "3 healthy brokers"
deadline=$(($(date +%s) + HEALTH_TIMEOUT))
last=""
while :; do
  states=()
  healthy=0
  for s in "${SERVICES[@]}"; do
    id="$(cid "$s")"
    st="$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2>/dev/null || echo missing)"
    states+=("$s=$st")
    [ "$st" = running/healthy ] && healthy=$((healthy + 1))
    case "$st" in running/*) ;; *) fail "$s is $st" ;; esac
  done
  if [ "${states[*]}" != "$last" ]; then
    log "  ${states[*]}"
    last="${states[*]}"
  fi
  [ "$healthy" -eq 3 ] && break
  [ "$(date +%s)" -lt "$deadline" ] || fail "brokers not healthy within ${HEALTH_TIMEOUT}s"
  sleep 1
done

step "controller quorum"
deadline=$(($(date +%s) + 30))
while :; do
  activated=0
  registered=0
  for s in "${SERVICES[@]}"; do
    logs="$(docker logs "$(cid "$s")" 2>&1)"
    grep -q '"msg":"controller: activated"' <<<"$logs" && activated=$((activated + 1))
    grep -q '"msg":"broker registered with the controller"' <<<"$logs" && registered=$((registered + 1))
  done
  if [ "$activated" -ge 1 ] && [ "$registered" -eq 3 ]; then
    log "  controller activated on $activated broker(s) so far; 3 of 3 brokers registered"
    break
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "quorum: controller activated on $activated broker(s), $registered of 3 brokers registered after 30 s"
  sleep 0.5
done

# --- 3. Topic, produce, consume -----------------------------------------------------------------
# describe_check JSON_FILE CONDITION: exit 0 when CONDITION (a JS expression over `parts`, the
# partitions of the described topic, and `dead`, the killed broker's id or 0) holds; prints a summary.
describe_check() {
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const parts = d.partitions, dead = Number(process.argv[3]);
    console.log(parts.map((p) => `p${p.partition}: leader ${p.leaderId} isr [${p.isr}]`).join(", "));
    process.exit(eval(process.argv[2]) ? 0 : 1);
  ' "$@"
}
wait_for_partitions() { # wait_for_partitions CONDITION DEAD_ID TIMEOUT_S WHAT
  local deadline=$(($(date +%s) + $3)) summary=""
  while :; do
    if ferry topic describe "$TOPIC" --format json >"$WORK/describe.json" 2>"$WORK/describe.err"; then
      if summary="$(describe_check "$WORK/describe.json" "$1" "$2")"; then
        log "  $summary"
        return 0
      fi
    else
      summary="$(tail -n 1 "$WORK/describe.err")"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "$4 not reached within $3 s (last: $summary)"
    sleep 1
  done
}
records() { # records ROUND: N lines key:value, values unique
  local round=$1
  seq -f "%06g" 1 "$RECORDS" | sed "s/.*/key-&:round-$round-record-&/"
}
produce_round() {
  local round=$1
  records "$round" | ferry_stdin produce "$TOPIC" --acks all --key-separator : >"$WORK/produce.out" || fail "produce round $round (acks=all)"
  cat "$WORK/produce.out" >&2
}
consume_all() { # consume_all EXPECTED_ROUNDS...: reads every record back and compares values
  local expected=$(($# * RECORDS)) r
  for r in "$@"; do records "$r"; done | cut -d: -f2 | sort >"$WORK/expected.txt"
  ferry consume "$TOPIC" --from-beginning --max-messages "$expected" --timeout-ms 20000 >"$WORK/consumed.txt" || fail "consume"
  sort "$WORK/consumed.txt" >"$WORK/consumed.sorted"
  if ! cmp -s "$WORK/expected.txt" "$WORK/consumed.sorted"; then
    log "  consumed $(wc -l <"$WORK/consumed.txt") of $expected records; first differences (< expected, > consumed):"
    diff "$WORK/expected.txt" "$WORK/consumed.sorted" | head -n 10 >&2 || true
    fail "records read back differ from those produced"
  fi
  log "  read back all $expected records"
}

step "create topic (RF 3)"
ferry topic create "$TOPIC" --partitions 3 --replication-factor 3 >&2 || fail "topic create $TOPIC --partitions 3 --replication-factor 3"
wait_for_partitions 'parts.length === 3 && parts.every((p) => p.leaderId > 0 && p.replicas.length === 3 && p.isr.length === 3)' 0 30 \
  "3 partitions with a leader and 3 in-sync replicas"

step "produce $RECORDS (acks=all)"
produce_round 1
step "consume $RECORDS"
consume_all 1

# --- 4. Kill the leader of partition 0 ----------------------------------------------------------
step "kill leader, wait for failover"
victim_id="$(node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(d.partitions.find((p)=>p.partition===0).leaderId)' "$WORK/describe.json")"
victim="ferry-$victim_id"
[ -n "${PORT[$victim]:-}" ] || fail "partition 0's leader is '$victim_id', not one of ferry-1..3"
log "  docker kill $victim (leader of partition 0)"
docker kill "$(cid "$victim")" >/dev/null
ALIVE=()
for s in "${SERVICES[@]}"; do [ "$s" = "$victim" ] || ALIVE+=("$s"); done
wait_for_partitions 'parts.every((p) => p.leaderId > 0 && p.leaderId !== dead)' "$victim_id" 60 \
  "every partition led by a surviving broker"

step "produce $RECORDS more (acks=all)"
produce_round 2
step "consume all $((2 * RECORDS))"
consume_all 1 2

# The README's host-side recipe: bootstrap through a published port, broker names mapped to loopback
# (in a private mount namespace here, so the machine's /etc/hosts is left alone).
step "consume from the host"
if [ -f dist/cmd/ferry.js ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
  { cat /etc/hosts; echo "127.0.0.1 ${SERVICES[*]}"; } >"$WORK/hosts"
  host_bootstrap="127.0.0.1:${PORT[${ALIVE[0]}]}"
  unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$WORK/hosts" \
    node dist/cmd/ferry.js consume "$TOPIC" --from-beginning --max-messages $((2 * RECORDS)) --timeout-ms 20000 \
    --bootstrap "$host_bootstrap" >"$WORK/host-consumed.txt" || fail "host consume via $host_bootstrap"
  sort "$WORK/host-consumed.txt" | cmp -s - "$WORK/expected.txt" || fail "host consume via $host_bootstrap: got $(wc -l <"$WORK/host-consumed.txt") records, not the $((2 * RECORDS)) produced"
  log "  read back all $((2 * RECORDS)) records through $host_bootstrap"
else
  log "  skipped (needs dist/cmd/ferry.js built on the host and unshare -m)"
fi
step ""
log "all checks passed"
