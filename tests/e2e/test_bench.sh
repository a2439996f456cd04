#!/usr/bin/env bash
# urelay-bench itself: a quick run through a real client and exit gives
# figures and a JSON that diff and compare read; a proxy that flips one bit
# or drops one byte is caught at that offset; diff flags a regression.
# Speed is never asserted: only that the harness measures and checks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
: "${BENCH:?run through ctest}"
new_key k
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client client k

echo "a quick run through urelay: every scenario, figures present"
"$BENCH" run --quick --idle 200 --socks "127.0.0.1:$SOCKS_PORT" --name urelay-ws \
  --pid "client=$CLIENT_PID" --pid "exit=$EXIT_PID" --out "$TMP/run.json" >"$TMP/run.out" 2>"$TMP/run.err" ||
  { cat "$TMP/run.out" "$TMP/run.err" >&2; fail "the quick run failed"; }
python3 - "$TMP/run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
sc = r["scenarios"]
assert r["name"] == "urelay-ws" and r["host"]["ncpu"] >= 1, r
kinds = {v["kind"] for v in sc.values()}
want = {"idle_sessions", "throughput_up_1session", "throughput_down_16sessions",
        "ttfb_p50_p95", "ping_pong_64B", "sessions_per_sec", "ttfb_under_download"}
assert want <= kinds, kinds
for name, v in sc.items():
    assert "error" not in v, (name, v["error"])
up = sc["throughput_up_32MB_1session"]
assert up["mb_per_sec"] > 0 and up["bytes_per_session"] == 32 << 20, up
assert up["client_cpu_s"] >= 0 and up["exit_peak_rss_kb"] > 0, up
assert sc["ttfb_p50_p95"]["p50_us"] <= sc["ttfb_p50_p95"]["p99_us"]
assert sc["idle_sessions"]["sessions"] == 200
assert sc["sessions_per_sec"]["ok"] > 0 and sc["sessions_per_sec"]["fail"] == 0
PY
grep -qE '^throughput_up_32MB_1session +[0-9.]+ MB/s' "$TMP/run.out" || fail "no table row"

echo "diff: a run against itself has no regression; halved throughput is one"
expect_rc 0 "$BENCH" diff "$TMP/run.json" "$TMP/run.json"
expect_out '^0 regressions'
python3 - "$TMP/run.json" "$TMP/worse.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["scenarios"]["throughput_down_32MB_1session"]["mb_per_sec"] /= 2
json.dump(r, open(sys.argv[2], "w"))
PY
expect_rc 1 "$BENCH" diff "$TMP/run.json" "$TMP/worse.json"
expect_out 'throughput_down_1session +mb_per_sec .*REGRESSION'
expect_out '^1 regression '
expect_rc 64 "$BENCH" diff "$TMP/run.json" "$TMP/nothing.json"
expect_out 'nothing.json'

echo "compare: ratios to the reference run"
expect_rc 0 "$BENCH" compare --ref urelay-ws "$TMP/run.json"
expect_out '^\| throughput_up_1session mb_per_sec \(MB/s\) \| [0-9.]+ \(1\.00×\) \|'
expect_rc 64 "$BENCH" compare --ref nobody "$TMP/run.json"
expect_out "no run named 'nobody'"

# damaged MODE OFFSET SIZE: a run through corrupt_socks.py that damages the
# upload's stream byte OFFSET (the 16-byte header goes first) must fail
# and name that offset.
damaged() {
  python3 "$(dirname "$0")/corrupt_socks.py" "$1" $((16 + $2)) >"$TMP/cs-$1.port" 2>"$TMP/cs-$1.err" &
  PIDS+=($!)
  wait_line "$TMP/cs-$1.port" '^[0-9]+$' 5
  expect_rc 1 "$BENCH" run --socks "$(head -n1 "$TMP/cs-$1.port")" --runs 1 --size-1 "$3" \
    --scenarios throughput_up_1session
  expect_out "upload: wrong byte at offset $2\$"
  expect_out 'FAILED'
}
echo "a proxy that flips one bit at stream offset 1000003: named, exit 1"
damaged flip 1000003 4m
echo "a proxy that drops one byte at stream offset 77: named, exit 1"
damaged drop 77 1m

echo "usage errors"
expect_rc 64 "$BENCH" run --socks 10.0.0.1:1080
expect_out "bad value for --socks"
expect_rc 64 "$BENCH" run --scenarios nothing_like_this
expect_out "matches none"
echo "ok"
