#!/usr/bin/env bash
# perf/compare.sh: urelay side by side with other relays, on loopback, in one
# command. Installs the peers it lacks from Debian (microsocks, Dante,
# shadowsocks-libev, v2ray, plus gnuplot for the chart), then for each relay
# in turn starts it on free 127.0.0.1 ports, checks it relays a SOCKS5
# CONNECT end to end, runs `urelay-bench run` through it, and stops it, so no
# idle relay shares the machine with the next one. Last, `urelay-bench
# compare` prints the table of ratios to ss-aes (saved as table.md) and draws
# chart.svg. Every address used is 127.0.0.1; every wait is bounded.
#
#   perf/compare.sh [--build DIR] [--out DIR] [--relays a,b,c] [--latency-ms N]
#                   [--no-install] [-- BENCH_ARGS...]        (--help for more)
#
# The peers' configurations are templates in perf/peers/ (@NAME@ fields are
# filled in here). Only processes this script started are ever stopped.
# shellcheck disable=SC2317  # run indirectly: cleanup by trap, start_NAME as "start_$r"
set -euo pipefail
orig_pwd=$PWD
cd "$(dirname "$0")/.."
repo=$PWD

# Every relay, in the order they run and appear in the table.
all_relays=(direct microsocks dante ss-aes ss-chacha v2ray-vless-ws urelay-ws urelay-post urelay-fwd)

usage() {
  cat <<EOF
usage: perf/compare.sh [options] [-- BENCH_ARGS...]

Benchmarks each relay below on loopback with urelay-bench, one after another
(each started right before its run and stopped right after), then compares
them: the ratio table (to ss-aes) is printed and saved as OUT/table.md, the
chart as OUT/chart.svg, each run's numbers as OUT/NAME.json, the relays'
logs under OUT/logs/ and the peers' versions in OUT/versions.txt.

relays (all by default, always run in this order):
  direct          no proxy: the bench's client talks to its target directly
  microsocks      microsocks, a minimal SOCKS5 server (client side only)
  dante           Dante's danted, SOCKS5, no authentication (client side only)
  ss-aes          shadowsocks-libev ss-local -> ss-server, aes-256-gcm
  ss-chacha       the same with chacha20-ietf-poly1305
  v2ray-vless-ws  v2ray: socks inbound -> VLESS over WebSocket /ws (no TLS)
                  -> VLESS inbound -> freedom (only 127.0.0.0/8 is routed)
  urelay-ws       urelay client -> ws://.../stream -> urelay exit
  urelay-post     urelay client -> http://.../tunnel (batched POST) -> exit
  urelay-fwd      urelay client -> urelay forwarder (--latency-ms per request)
                  -> a second urelay exit; 4 workers and 4 MiB windows, as in
                  perf/transports.sh; the bench gets --size-1 32m --size-n 8m
                  --idle 1000 --ttfb-samples 50 --ping-samples 200 (before
                  BENCH_ARGS, which can override them);
                  the peers get --idle 9000 (see the idle note in the script)

options:
  --build DIR       urelay's build directory, with tools/urelay and
                    perf/urelay-bench (default: build, from scripts/build.sh)
  --out DIR         where results go (default:
                    perf/results/compare-YYYYmmdd-HHMMSS)
  --relays a,b,c    run only these (names above; the order above is kept)
  --latency-ms N    urelay-fwd: the forwarder's delay per request (default 20)
  --no-install      never run apt-get; relays whose program is missing are
                    skipped with a warning
  -h, --help        this text
  -- BENCH_ARGS     passed to every \`urelay-bench run\`, e.g. -- --quick

Missing Debian packages (microsocks dante-server shadowsocks-libev v2ray
gnuplot-nox) are installed with apt-get (needs root) under a policy-rc.d that
forbids starting their system services; the script never stops a process it
did not start. The open-files limit is raised to 1048576, or to the hard
limit if that is lower, for every relay and the bench.

A relay that does not come up is skipped with a warning naming it, and so is
one whose bench run fails; the others still run and are compared. Exit
status: 0 if every selected relay was benchmarked, 1 if some were skipped or
the comparison failed, 64 on a bad command line or a missing build.
EOF
}
usage_error() {
  echo "perf/compare.sh: $*" >&2
  echo "see perf/compare.sh --help" >&2
  exit 64
}
# abs PATH: PATH as given on the command line, made absolute against the
# directory the script was started from.
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$orig_pwd/$1" ;; esac; }

build=$repo/build
out=$repo/perf/results/compare-$(date +%Y%m%d-%H%M%S)
relays_arg=
latency_ms=20
install=1
bench_args=()
# need_value OPTION VALUE: a usage error if VALUE is missing or empty.
need_value() { [ -n "${2:-}" ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  opt=${1%%=*}
  case $1 in
    --build | --out | --relays | --latency-ms)
      need_value "$1" "${2:-}"; val=$2; shift 2 ;;
    --build=* | --out=* | --relays=* | --latency-ms=*)
      val=${1#*=}; need_value "$opt" "$val"; shift ;;
    --no-install) install=0; shift; continue ;;
    -h | --help) usage; exit 0 ;;
    --) shift; bench_args=("$@"); break ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  case $opt in
    --build) build=$(abs "$val") ;;
    --out) out=$(abs "$val") ;;
    --relays) relays_arg=$val ;;
    --latency-ms) latency_ms=$val ;;
  esac
done
if ! [[ $latency_ms =~ ^[0-9]{1,5}$ ]] || [ "$latency_ms" -gt 60000 ]; then
  usage_error "--latency-ms: '$latency_ms' is not a whole number of milliseconds in 0..60000"
fi

# The relays to run: all, or those named in --relays, in the order above.
declare -A wanted=()
if [ -n "$relays_arg" ]; then
  IFS=, read -r -a names <<<"$relays_arg"
  [ ${#names[@]} -gt 0 ] || usage_error "--relays: empty list"
  for n in "${names[@]}"; do
    [[ " ${all_relays[*]} " == *" $n "* ]] ||
      usage_error "--relays: unknown relay '$n' (known: ${all_relays[*]})"
    wanted[$n]=1
  done
else
  for n in "${all_relays[@]}"; do wanted[$n]=1; done
fi
relays=()
for n in "${all_relays[@]}"; do [ -n "${wanted[$n]:-}" ] && relays+=("$n"); done

urelay=$build/tools/urelay
bench=$build/perf/urelay-bench
if [ ! -x "$bench" ] || [ ! -x "$urelay" ]; then
  echo "perf/compare.sh: no $bench or $urelay: build first: scripts/build.sh" >&2
  exit 64
fi

# ---------------------------------------------------------------- state, cleanup
tmp=$(mktemp -d)
pids=()             # every process started here and not yet stopped
rpids=()            # the processes of the relay being run
declare -A name_of=() # pid -> the name its output files carry
made_policy=0       # 1 while /usr/sbin/policy-rc.d is ours
policy=/usr/sbin/policy-rc.d

# stop_pids PID...: SIGTERM, up to 5 s for them to end, then SIGKILL. Only
# ever given our own children, which are not reaped (waited for) before
# this, so their pids cannot have been reused by another process.
stop_pids() {
  [ $# -gt 0 ] || return 0
  local p i alive
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for p in "$@"; do
      # a zombie still answers kill -0; ps shows it as Z
      if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then
        alive=1
      fi
    done
    [ $alive = 1 ] || break
    sleep 0.1
  done
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then
      echo "warning: ${name_of[$p]:-bench} (pid $p) did not end on SIGTERM within 5 s;" \
        "sending SIGKILL" >&2
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
# forget PID...: drop these (stopped and reaped) from pids.
forget() {
  local p keep=()
  for p in "${pids[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}
# stop_relay: stop the current relay's processes, the last started first
# (the SOCKS side before the far side, so neither logs the other's going),
# and forget them.
stop_relay() {
  local i
  for ((i = ${#rpids[@]} - 1; i >= 0; i--)); do stop_pids "${rpids[i]}"; done
  forget "${rpids[@]}"
  rpids=()
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids "${pids[@]}"
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
  if [ -d "$out" ]; then
    mkdir -p "$out/logs"
    # the relays' output, logs and configurations; not the key, not empty files
    find "$tmp" -maxdepth 1 -type f -size +0 \( -name '*.out' -o -name '*.err' -o -name '*.log' \
      -o -name '*.conf' -o -name '*.json' \) -exec cp -t "$out/logs" {} + 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- packages
# Debian package and program each relay needs; gnuplot draws the chart.
declare -A pkg_of=([microsocks]=microsocks [dante]=dante-server [ss-aes]=shadowsocks-libev
  [ss-chacha]=shadowsocks-libev [v2ray-vless-ws]=v2ray)
declare -A prog_of=([microsocks]=microsocks [dante]=danted [ss-aes]=ss-server
  [ss-chacha]=ss-server [v2ray-vless-ws]=v2ray)
need=(gnuplot-nox)
for r in "${relays[@]}"; do
  p=${pkg_of[$r]:-}
  [ -n "$p" ] && [[ " ${need[*]} " != *" $p "* ]] && need+=("$p")
done
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# service_pids: pids of the peers' daemons running now (to tell, not to stop).
service_pids() {
  pgrep -x 'danted|ss-server|ss-local|ss-manager|v2ray|microsocks' 2>/dev/null | sort || true
}
if [ ${#missing[@]} -gt 0 ] && [ $install = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "perf/compare.sh: installing ${missing[*]} needs root (or use --no-install)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}" >&2
  before=$(service_pids)
  # Debian's postinst scripts start danted, shadowsocks-libev and v2ray as
  # system services; a policy-rc.d that answers 101 forbids that. Ours only
  # if there was none, and only for the install (cleanup removes it too).
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# perf/compare.sh: no service starts during its install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  apt-get update -qq >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; exit 1; }
  if [ $made_policy = 1 ]; then rm -f "$policy"; made_policy=0; fi
  after=$(service_pids)
  started=$(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')
  if [ -n "${started// /}" ]; then
    echo "warning: the install started system services (pids $started); this script leaves them" \
      "alone, but they share the machine: stop them (systemctl stop danted shadowsocks-libev v2ray)" >&2
  fi
elif [ ${#missing[@]} -gt 0 ]; then
  echo "warning: --no-install: missing ${missing[*]}; the relays needing them are skipped" >&2
fi

# ---------------------------------------------------------------- helpers
# As many open files as allowed: the relays and the bench hold thousands.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=1048576

PORTS_FILE="$tmp"/ports
# shellcheck source=scripts/ports.sh
. "$repo"/scripts/ports.sh
port() { free_port; }

# spawn NAME CMD...: start CMD in the background as part of the current
# relay, stdout and stderr in $tmp/NAME.out and .err; its pid in $last_pid.
spawn() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  last_pid=$!
  name_of[$last_pid]=$name
  pids+=("$last_pid")
  rpids+=("$last_pid")
}

# relay_alive: 0 if every process of the current relay still runs; else
# says which ended.
relay_alive() {
  local p
  for p in "${rpids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null || [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = Z ]; then
      echo "${name_of[$p]} (pid $p) ended; the end of its output:" >&2
      tail -n 5 "$tmp/${name_of[$p]}.out" "$tmp/${name_of[$p]}.err" >&2 2>/dev/null || true
      return 1
    fi
  done
}

# wait_line FILE REGEX: up to 10 s for a line matching REGEX in FILE.
wait_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    relay_alive || return 1
    sleep 0.1
  done
  echo "no /$2/ in $1 after 10 s" >&2
  return 1
}

# wait_port PORT: up to 10 s for 127.0.0.1:PORT to accept a connection.
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    relay_alive || return 1
    sleep 0.1
  done
  echo "127.0.0.1:$1 does not accept connections after 10 s" >&2
  return 1
}

# socks_probe PORT: one SOCKS5 CONNECT through 127.0.0.1:PORT to an echo
# listener of the probe's own on 127.0.0.1, and a round trip of a few bytes.
# Exit 0 if the bytes came back, 1 on a wrong answer, 2 if nothing listens.
socks_probe() {
  timeout 15 python3 - "$1" <<'EOF'
import socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(5)
def echo():
    try:
        c, _ = srv.accept()
        c.settimeout(5)
        d = c.recv(64)
        c.sendall(d)
        c.close()
    except OSError:
        pass
threading.Thread(target=echo, daemon=True).start()
def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise OSError("closed after %d of %d bytes" % (len(b), n))
        b += d
    return b
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
except OSError:
    sys.exit(2)
try:
    s.sendall(b"\x05\x01\x00")
    if recvn(s, 2) != b"\x05\x00":
        raise OSError("method not accepted")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + srv.getsockname()[1].to_bytes(2, "big"))
    r = recvn(s, 4)
    if r[1] != 0:
        raise OSError("CONNECT answered %d" % r[1])
    recvn(s, {1: 4, 4: 16}.get(r[3], 0) + 2 if r[3] != 3 else recvn(s, 1)[0] + 2)
    msg = b"urelay compare.sh probe"
    s.sendall(msg)
    if recvn(s, len(msg)) != msg:
        raise OSError("echo differs")
except OSError as e:
    print("SOCKS5 probe: %s" % e, file=sys.stderr)
    sys.exit(1)
EOF
}

# wait_socks PORT: up to 15 s until a SOCKS5 probe through PORT works end to end.
wait_socks() {
  local i rc
  for ((i = 0; i < 30; i++)); do
    rc=0
    socks_probe "$1" 2>"$tmp/probe.err" || rc=$?
    [ "$rc" = 0 ] && return 0
    relay_alive || return 1
    sleep 0.5
  done
  echo "no SOCKS5 CONNECT through 127.0.0.1:$1 after 15 s: $(cat "$tmp/probe.err")" >&2
  return 1
}

# fill TEMPLATE OUTPUT KEY=VALUE...: perf/peers/TEMPLATE with @KEY@ replaced.
fill() {
  local in=perf/peers/$1 outf=$2 kv args=()
  shift 2
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$in" >"$outf"
}

"$urelay" keygen --out "$tmp/key" >/dev/null
password() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

# ---------------------------------------------------------------- relays
# start_NAME: start the relay; set socks (its SOCKS5 port, empty for direct),
# client_pid (the SOCKS side) and exit_pid (the far side, if any); return
# non-zero, after saying why, if it does not come up. These run as `if`
# conditions, where set -e is off, so every step checks its own status.
socks=
client_pid=
exit_pid=

start_direct() { :; }

start_microsocks() {
  socks=$(port) || return 1
  spawn microsocks microsocks -i 127.0.0.1 -p "$socks"
  client_pid=$last_pid
  wait_port "$socks" && wait_socks "$socks"
}

# danted stays in the foreground without -D; the pid we have is its mother
# process, which forks its own children (negotiate, request, io) and ends
# them on SIGTERM.
start_dante() {
  socks=$(port) || return 1
  fill danted.conf.in "$tmp/danted.conf" LOG="$tmp/dante.log" PORT="$socks" || return 1
  danted -V -f "$tmp/danted.conf" >"$tmp/dante-check.log" 2>&1 ||
    { cat "$tmp/dante-check.log" >&2; return 1; }
  spawn dante danted -f "$tmp/danted.conf" -p "$tmp/danted.pid" -N 1
  client_pid=$last_pid
  wait_port "$socks" && wait_socks "$socks"
}

# start_ss NAME METHOD: ss-local (SOCKS5) -> ss-server, both on loopback,
# TCP_NODELAY as urelay sets it, nameserver 127.0.0.1 (never asked: the
# targets are IP literals).
start_ss() {
  local name=$1 method=$2 server_port pw
  server_port=$(port) && socks=$(port) && pw=$(password) || return 1
  spawn "$name-server" ss-server -s 127.0.0.1 -p "$server_port" -k "$pw" -m "$method" \
    -n "$nofile" --no-delay -d 127.0.0.1
  exit_pid=$last_pid
  wait_port "$server_port" || return 1
  spawn "$name-local" ss-local -s 127.0.0.1 -p "$server_port" -b 127.0.0.1 -l "$socks" \
    -k "$pw" -m "$method" -n "$nofile" --no-delay
  client_pid=$last_pid
  wait_port "$socks" && wait_socks "$socks"
}
start_ss-aes() { start_ss ss-aes aes-256-gcm; }
start_ss-chacha() { start_ss ss-chacha chacha20-ietf-poly1305; }

# v2ray 4.34 (Debian): `v2ray -config FILE`; VLESS without TLS is accepted.
start_v2ray-vless-ws() {
  local server_port uuid
  server_port=$(port) && socks=$(port) && uuid=$(cat /proc/sys/kernel/random/uuid) || return 1
  fill v2ray-server.json.in "$tmp/v2ray-server.json" LOG="$tmp/v2ray-server.log" \
    SERVER_PORT="$server_port" UUID="$uuid" || return 1
  fill v2ray-client.json.in "$tmp/v2ray-client.json" LOG="$tmp/v2ray-client.log" \
    SERVER_PORT="$server_port" SOCKS_PORT="$socks" UUID="$uuid" || return 1
  spawn v2ray-server v2ray -config "$tmp/v2ray-server.json"
  exit_pid=$last_pid
  wait_port "$server_port" || return 1
  spawn v2ray-client v2ray -config "$tmp/v2ray-client.json"
  client_pid=$last_pid
  wait_port "$socks" && wait_socks "$socks"
}

# start_urelay_exit NAME EXTRA...: an exit on a free port ($exit_port).
start_urelay_exit() {
  local name=$1
  shift
  exit_port=$(port) || return 1
  spawn "$name" "$urelay" exit --listen "127.0.0.1:$exit_port" --key-file "$tmp/key" \
    --allow-dest 127.0.0.1/32 --dns-server 127.0.0.1:1 --max-sessions 30000 \
    --max-sessions-per-client 30000 --log-level warn "$@"
  exit_pid=$last_pid
  wait_line "$tmp/$name.out" '^urelay exit: ready'
}
# start_urelay_client NAME ENDPOINT EXTRA...: a client whose SOCKS5 is $socks.
start_urelay_client() {
  local name=$1 ep=$2
  shift 2
  socks=$(port) || return 1
  spawn "$name" "$urelay" client --socks "127.0.0.1:$socks" --key-file "$tmp/key" \
    --endpoint "$ep" --state-file "" --log-level warn "$@"
  client_pid=$last_pid
  wait_line "$tmp/$name.out" '^urelay client: ready' && wait_socks "$socks"
}
start_urelay-ws() {
  start_urelay_exit urelay-ws-exit &&
    start_urelay_client urelay-ws-client "ws://127.0.0.1:$exit_port/stream"
}
start_urelay-post() {
  start_urelay_exit urelay-post-exit &&
    start_urelay_client urelay-post-client "http://127.0.0.1:$exit_port/tunnel"
}
# As perf/transports.sh: 4 MiB windows on both ends (one session moves at
# most a window per round trip) and 4 workers.
start_urelay-fwd() {
  local fwd_port
  start_urelay_exit urelay-fwd-exit --window 4m || return 1
  fwd_port=$(port) || return 1
  spawn urelay-fwd-forwarder "$urelay" forwarder --listen "127.0.0.1:$fwd_port" \
    --exit "http://127.0.0.1:$exit_port/tunnel" --latency-ms "$latency_ms" --log-level warn
  wait_line "$tmp/urelay-fwd-forwarder.out" '^urelay forwarder: ready' || return 1
  start_urelay_client urelay-fwd-client "http://127.0.0.1:$fwd_port/exec" --workers 4 --window 4m
}

# ---------------------------------------------------------------- versions
mkdir -p "$out"
{
  echo "# perf/compare.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)," \
    "open files $nofile, forwarder latency $latency_ms ms"
  "$urelay" version | sed -n 1,2p
  for p in microsocks dante-server shadowsocks-libev v2ray gnuplot-nox; do
    dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || echo "$p not installed"
  done
} >"$out/versions.txt"
cat "$out/versions.txt"

# ---------------------------------------------------------------- runs
urelay_version=$("$urelay" version | sed -n 1p)
ok=()
skipped=()
for r in "${relays[@]}"; do
  prog=${prog_of[$r]:-}
  if [ -n "$prog" ] && ! command -v "$prog" >/dev/null; then
    echo "warning: $r: $prog is not installed; skipping $r" >&2
    skipped+=("$r")
    continue
  fi
  socks='' client_pid='' exit_pid=''
  echo "== $r: starting" >&2
  if ! "start_$r" 2>"$tmp/$r.start.err"; then
    cat "$tmp/$r.start.err" >&2
    echo "warning: $r did not come up (logs: $out/logs/$r*); skipping $r" >&2
    stop_relay
    skipped+=("$r")
    continue
  fi
  args=(run --name "$r")
  [ -n "$socks" ] && args+=(--socks "127.0.0.1:$socks")
  [ -n "$client_pid" ] && args+=(--pid "client=$client_pid")
  [ -n "$exit_pid" ] && args+=(--pid "exit=$exit_pid")
  if [ -n "${pkg_of[$r]:-}" ]; then
    args+=(--label "version=${pkg_of[$r]} $(dpkg-query -W -f='${Version}' "${pkg_of[$r]}")")
  elif [ "$r" != direct ]; then
    args+=(--label "version=$urelay_version")
  fi
  args+=(--out "$out/$r.json")
  # idle_sessions: the hard descriptor limit here is 20000 and a peer's
  # SOCKS process holds two descriptors per session (the application's and
  # the one onward), so the peers hold 9000; urelay's client holds one per
  # session (all share one link) and keeps the 10000 its target names.
  case $r in
    urelay-fwd) # every exchange costs --latency-ms: fewer, smaller samples
      args+=(--size-1 32m --size-n 8m --idle 1000 --ttfb-samples 50 --ping-samples 200) ;;
    urelay-ws | urelay-post) ;;
    *) args+=(--idle 9000) ;;
  esac
  args+=("${bench_args[@]}")
  echo "== $r: urelay-bench$(printf ' %q' "${args[@]}")" >&2
  # In the background and waited for, so that a signal to this script is
  # handled at once (cleanup then stops the bench too).
  rc=0
  "$bench" "${args[@]}" &
  bench_pid=$!
  pids+=("$bench_pid")
  wait "$bench_pid" || rc=$?
  forget "$bench_pid"
  stop_relay
  if [ $rc = 0 ] && [ -s "$out/$r.json" ]; then
    ok+=("$r")
  elif [ -s "$out/$r.json" ]; then
    # Some scenario failed (wrong bytes, refused sessions, a stall): the
    # table shows "-" there, and the run's JSON names the error.
    echo "warning: $r: a scenario failed (exit $rc); see \"error\" in $out/$r.json" >&2
    ok+=("$r")
    status_failed=1
  else
    echo "warning: $r: urelay-bench run failed (exit $rc); left out of the comparison" >&2
    if [ -e "$out/$r.json" ]; then mv "$out/$r.json" "$out/$r.json.failed"; fi
    skipped+=("$r")
  fi
done

# ---------------------------------------------------------------- comparison
status=${status_failed:-0}
[ ${#skipped[@]} = 0 ] || { echo "skipped: ${skipped[*]}" >&2; status=1; }
if [ ${#ok[@]} = 0 ]; then
  echo "perf/compare.sh: no relay was benchmarked" >&2
  exit 1
fi
ref=ss-aes
[[ " ${ok[*]} " == *" ss-aes "* ]] || {
  ref=${ok[0]}
  echo "note: ss-aes has no results; ratios are to $ref" >&2
}
files=()
for r in "${ok[@]}"; do files+=("$out/$r.json"); done
echo
if "$bench" compare --ref "$ref" --chart "$out/chart.svg" "${files[@]}" >"$out/table.md"; then
  cat "$out/table.md"
else
  cat "$out/table.md"
  echo "warning: urelay-bench compare failed" >&2
  status=1
fi
echo
echo "results: $out (table.md, chart.svg, NAME.json, logs/, versions.txt)"
exit $status
