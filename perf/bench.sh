#!/usr/bin/env bash
# perf/bench.sh: urelay's own benchmark run. Starts an exit and a client on
# loopback with a fresh key, runs urelay-bench through the client with both
# processes watched, writes the run's JSON, and diffs it against the newest
# baseline in perf/baselines/ for the same transport.
#
#   perf/bench.sh [--transport ws|post] [--build DIR] [--out FILE]
#                 [--baseline FILE] [--update] [--threshold PCT] [-- BENCH ARGS]
#
# --update writes the run as perf/baselines/<date>-<transport>.json.
# Exit: 0, or 1 when the diff found a regression or a scenario failed; it is
# a report, never part of the test suite. The default run takes about one
# minute on 2 cores (10,000 idle sessions included); `-- --quick` about 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build transport=ws out="" baseline="" update=0 threshold=10
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --transport) transport=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --baseline) baseline=${2:?}; shift 2 ;;
    --threshold) threshold=${2:?}; shift 2 ;;
    --update) update=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "perf/bench.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
case $transport in ws | post) ;; *) echo "perf/bench.sh: --transport is ws or post" >&2; exit 64 ;; esac
urelay=$build/tools/urelay bench=$build/perf/urelay-bench
[ -x "$urelay" ] && [ -x "$bench" ] || { echo "build first: scripts/build.sh" >&2; exit 64; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# Two distinct free ports (both held while chosen, so never the same one).
ports2() { python3 -c 'import socket; a=socket.socket(); b=socket.socket(); a.bind(("127.0.0.1",0)); b.bind(("127.0.0.1",0)); print(a.getsockname()[1], b.getsockname()[1])'; }
wait_line() {
  for _ in $(seq 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "perf/bench.sh: no /$2/ in $1" >&2; cat "$1" "${1%.out}.err" >&2 || true; exit 1
}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$urelay" keygen --out "$tmp/k" >/dev/null
read -r ep socks < <(ports2)
# The sink is on 127.0.0.1 only; sessions up to the idle scenario's 10,000.
"$urelay" exit --listen "127.0.0.1:$ep" --key-file "$tmp/k" --allow-dest 127.0.0.1/32 \
  --dns-server 127.0.0.1:1 --max-sessions 30000 --max-sessions-per-client 30000 \
  --log-level warn >"$tmp/exit.out" 2>"$tmp/exit.err" &
exit_pid=$!
pids+=("$exit_pid")
wait_line "$tmp/exit.out" '^urelay exit: ready'
url="ws://127.0.0.1:$ep/stream"
[ "$transport" = post ] && url="http://127.0.0.1:$ep/tunnel"
"$urelay" client --socks "127.0.0.1:$socks" --key-file "$tmp/k" --endpoint "$url" \
  --state-file "" --log-level warn >"$tmp/client.out" 2>"$tmp/client.err" &
client_pid=$!
pids+=("$client_pid")
wait_line "$tmp/client.out" '^urelay client: ready'

[ -n "$out" ] || out=perf/results/bench-$(date +%Y%m%d-%H%M%S)-$transport.json
mkdir -p "$(dirname "$out")"
status=0
"$bench" run --socks "127.0.0.1:$socks" --name "urelay-$transport" \
  --pid "client=$client_pid" --pid "exit=$exit_pid" \
  --label "version=$("$urelay" version | head -n1)" --label "transport=$transport" \
  --out "$out" "$@" || status=1
echo "run: $out"

if [ -z "$baseline" ]; then
  baseline=$(ls -1 perf/baselines/*-"$transport".json 2>/dev/null | sort | tail -n1 || true)
fi
if [ -n "$baseline" ] && [ -f "$baseline" ]; then
  echo "== against $baseline (threshold $threshold%)"
  "$bench" diff "$baseline" "$out" --threshold "$threshold" || status=1
else
  echo "(no baseline for $transport in perf/baselines/)"
fi
if ((update)); then
  dest=perf/baselines/$(date +%Y%m%d)-$transport.json
  mkdir -p perf/baselines
  cp "$out" "$dest"
  echo "baseline written: $dest"
fi
exit "$status"
