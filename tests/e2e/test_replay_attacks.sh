#!/usr/bin/env bash
# Replay attacks by an on-path observer (issue 13, defects 3 and 5; BRIEF
# §3 "Replay", §7 I4): tests/e2e/replay_proxy.py sits between a real client
# and a real exit, records what the client sends, and replays it on NEW
# connections to the exit.
#   ws    during an 8 MiB download over ws, 8 recorded client messages go
#         again, each on a new WebSocket: the exit drops each of those
#         connections without a data frame, or answers it with one sealed
#         CHALLENGE alone (it never proved itself, docs/protocol.md §3.6),
#         the client's own WebSocket stays, and the download ends byte-exact
#         well inside 10 s.
#   post  the same over POST /tunnel: every replayed request gets the decoy
#         404, never a 200 with a batch, and the download ends byte-exact
#         and fast, with no request of the client failed.
#   grace an exit with --grace 3: a client sends distinct bytes to a sink
#         and stops; 8 s later (past its grace, inside the 30 s time window)
#         every request it made is replayed: the sink sees no second
#         connection and no byte again, and the exit makes no new instance.
# REPLAY_CASES="ws post grace" picks cases (all by default). Every failed
# check of a case is listed before the case fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
RPY="$SRC/tests/e2e/replay_proxy.py"
CASES=${REPLAY_CASES:-ws post grace}
RATE=2000000 # bytes/s the target sends at: 8 MiB take >= 4.2 s
DOWN=8m

# start_rproxy NAME UPSTREAM_PORT ARGS...: sets RP_PORT, RP_CTL.
start_rproxy() {
  local name=$1 up=$2; shift 2
  python3 "$RPY" serve "$up" --max-seconds 120 "$@" >"$TMP/$name.port" 2>"$TMP/$name.err" &
  PIDS+=($!)
  wait_line "$TMP/$name.port" '^[0-9]+ [0-9]+$' 5
  read -r RP_PORT RP_CTL <"$TMP/$name.port"
}
# rp CTL COMMAND...: a replay_proxy command; its JSON answer on stdout.
rp() { timeout 60 python3 "$RPY" ctl "$@"; }
# json FILE PYTHON: runs PYTHON with d = the JSON in FILE; its stdout is
# the list of what is wrong, one per line (nothing: all good).
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1]))
$2" "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

ERRS=()
soft() { echo "CHECK FAILED: $*" >&2; ERRS+=("$*"); }
end_case() {
  [ ${#ERRS[@]} = 0 ] || fail "$1: ${#ERRS[@]} check(s) failed: $(printf '%s; ' "${ERRS[@]}")"
  echo "$1: ok"
}
want() { [[ " $CASES " == *" $1 "* ]]; }

# download_with_replays NAME: an 8 MiB download through $SOCKS_PORT from
# the paced target; 1.5 s in, replays the 8 latest recorded client items
# at least 1 s old on new connections (answers in $TMP/NAME.replay).
# Checks that the download was still going when they went out, and that it
# ended byte-exact within 10 s.
download_with_replays() {
  local name=$1 t0 took
  t0=$(now_ms)
  "$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$PACED_PORT" --timeout 12 --up 0 \
    --down "$DOWN" >"$TMP/$name.run" 2>&1 &
  local run=$!
  PIDS+=("$run")
  sleep 1.5
  kill -0 "$run" 2>/dev/null || soft "$name: the download ended before the replays"
  rp "$RP_CTL" replay recent:8 stagger=0.15 timeout=2 min_age=1 >"$TMP/$name.replay" ||
    { cat "$TMP/$name.replay" >&2; fail "$name: the replay command failed"; }
  local set_off=$(($(now_ms) - t0))
  local code=0
  wait "$run" || code=$?
  took=$(($(now_ms) - t0))
  cat "$TMP/$name.run"
  echo "$name: download took ${took} ms; replays answered ${set_off} ms in"
  if [ "$code" != 0 ] || ! grep -q ', 0 failed;' "$TMP/$name.run"; then
    soft "$name: the download failed (exit $code): $(tail -n1 "$TMP/$name.run")"
  fi
  [ "$took" -lt 10000 ] || soft "$name: the download took ${took} ms (bound 10000)"
}

new_key k
start_target
# The target sends through a pacer: the exit waits on the target, not on
# the client, so it has credit and sends each chunk as soon as it comes:
# a link that wrongly took the client's downstream gets those chunks.
start_rproxy pacer "$TARGET_PORT" --rate "$RATE" --no-record
PACED_PORT=$RP_PORT

if want ws || want post; then
  start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
fi

if want ws; then
  echo "== ws: replayed client messages on new WebSockets during a download"
  start_rproxy wsproxy "$EXIT_PORT"
  ENDPOINT="ws://127.0.0.1:$RP_PORT/stream" start_client wsc k
  download_with_replays ws
  cat "$TMP/ws.replay"
  bad=$(json "$TMP/ws.replay" '
CHALLENGE_BATCH = 66 + 34  # batch overhead + a CHALLENGE frame, nothing else
r = d["results"]
if len(r) < 4: print("only %d items replayed" % len(r))
for x in r:
    if x["kind"] != "ws": print("item %d is %s" % (x["n"], x["kind"]))
    elif x["data_frames"] == 0 and x["frame_bytes"] == 0:
        # A duplicate of what the exit had: the connection dropped.
        if x["end"] not in ("eof", "reset", "not-upgraded"):
            print("replay of item %d: the exit kept the connection (%s)" % (x["n"], x["end"]))
    elif x["data_frames"] != 1 or x["frame_bytes"] != CHALLENGE_BATCH:
        # Anything else than one sealed CHALLENGE alone (docs/protocol.md
        # §3.6: the new WebSocket never proved itself) carried frames
        # meant for the client.
        print("replay of item %d got %d data frames, %d bytes" % (x["n"], x["data_frames"], x["frame_bytes"]))
') || fail "the check of the answers failed"
  [ -z "$bad" ] || while read -r line; do soft "ws: $line"; done <<<"$bad"
  # The client's own WebSocket was never dropped: one connection only.
  rp "$RP_CTL" stats >"$TMP/ws.stats"
  conns=$(json "$TMP/ws.stats" 'print(d["conns"])')
  [ "$conns" = 1 ] || soft "ws: the client connected $conns times (its tunnel went down)"
  stop wsc "$CLIENT_PID"
  end_case ws
fi

if want post; then
  echo "== post: replayed POST requests during a download"
  start_rproxy postproxy "$EXIT_PORT"
  ENDPOINT="http://127.0.0.1:$RP_PORT/tunnel" start_client postc k
  download_with_replays post
  cat "$TMP/post.replay"
  bad=$(json "$TMP/post.replay" '
r = d["results"]
if len(r) < 4: print("only %d items replayed" % len(r))
for x in r:
    if x["kind"] != "post": print("item %d is %s" % (x["n"], x["kind"]))
    elif x["status"] != 404:
        print("replay of item %d: HTTP %s, %d body bytes (%s), want the decoy 404"
              % (x["n"], x["status"], x["body_len"], x["end"]))
') || fail "the check of the answers failed"
  [ -z "$bad" ] || while read -r line; do soft "post: $line"; done <<<"$bad"
  stop postc "$CLIENT_PID"
  grep -qE 'post: [0-9]+ requests .* 0 failed' "$TMP/postc.err" ||
    soft "post: requests of the client failed: $(grep -E 'post: [0-9]+ requests' "$TMP/postc.err")"
  end_case post
fi
if want ws || want post; then
  stop exit "$EXIT_PID"
fi

if want grace; then
  echo "== grace: a stopped client's requests replayed past --grace 3"
  start_exit exit5 --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --grace 3
  mkdir "$TMP/sink"
  python3 "$RPY" sink "$TMP/sink" --max-seconds 120 >"$TMP/sink.port" 2>"$TMP/sink.err" &
  PIDS+=($!)
  wait_line "$TMP/sink.port" '^[0-9]+$' 5
  SINK_PORT=$(head -n1 "$TMP/sink.port")
  start_rproxy p5proxy "$EXIT_PORT"
  ENDPOINT="http://127.0.0.1:$RP_PORT/tunnel" start_client c5 k
  { printf 'urelay replay test %s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    head -c 3000 /dev/urandom | od -An -tx1; } >"$TMP/payload"
  timeout 20 python3 "$RPY" send "$SOCKS_PORT" "$SINK_PORT" "$TMP/payload" ||
    fail "grace: the transfer to the sink failed"
  for _ in $(seq 50); do [ -f "$TMP/sink/conn-1.bin" ] && cmp -s "$TMP/payload" "$TMP/sink/conn-1.bin" && break; sleep 0.1; done
  cmp "$TMP/payload" "$TMP/sink/conn-1.bin" || fail "grace: the sink did not get the payload"
  t_stop=$(now_ms)
  stop c5 "$CLIENT_PID"
  wait_line "$TMP/exit5.err" 'no transport for 3 s, closing its sessions' 10
  rest=$((8000 - ($(now_ms) - t_stop)))
  [ "$rest" -gt 0 ] && sleep "$(printf '%d.%03d' $((rest / 1000)) $((rest % 1000)))"
  rp "$RP_CTL" replay all stagger=0.1 timeout=2 >"$TMP/grace.replay" ||
    { cat "$TMP/grace.replay" >&2; fail "grace: the replay command failed"; }
  cat "$TMP/grace.replay"
  sleep 1 # a dial the replays caused would have reached the sink by now
  # What the exit answered is shown, not judged: a decoy 404 (5cc634e) or
  # an answer that acts on nothing (a freshness challenge) are both fine;
  # the checks are what reached the target and what the exit made.
  json "$TMP/grace.replay" '
r = d["results"]
print("grace: %d requests replayed, answers: %s" % (len(r), sorted(
    "%s/%s" % (x.get("status"), x.get("body_len")) for x in r)))' || fail "the check of the answers failed"
  n=$(json "$TMP/grace.replay" 'print(len(d["results"]))') || fail "the check of the answers failed"
  [ "$n" -ge 3 ] || soft "grace: only $n requests recorded"
  conns=$(find "$TMP/sink" -name 'conn-*.bin' | wc -l)
  [ "$conns" = 1 ] || soft "grace: the sink got $conns connections (a replayed OPEN was dialled again)"
  cmp -s "$TMP/payload" "$TMP/sink/conn-1.bin" || soft "grace: the first connection's bytes changed"
  for f in "$TMP"/sink/conn-*.bin; do
    [ "$f" = "$TMP/sink/conn-1.bin" ] && continue
    [ -s "$f" ] && soft "grace: bytes delivered a second time ($(wc -c <"$f") bytes in ${f##*/})"
  done
  n=$(grep -c 'first authenticated batch' "$TMP/exit5.err" || true)
  [ "$n" -le 1 ] || soft "grace: $n instances made (a replay made a new one)"
  stop exit5 "$EXIT_PID"
  end_case grace
fi
echo ok
