#!/usr/bin/env bash
# Three post endpoints, one broken (its forwarder answers every POST with
# 502): after blacklist_after failures it is set aside (logged once), the
# transfers lose nothing, new sessions pay no delay for it and it is not
# contacted while set aside; once its time is up it is tried again and,
# now working, used again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
url() { echo "http://127.0.0.1:$1/tunnel"; }
start_forwarder bad --fail-every 1; D=$FWD_PORT D_PID=$FWD_PID
start_forwarder f1; F1_PID=$FWD_PID; F1=$FWD_PORT
start_forwarder f2; F2_PID=$FWD_PID; F2=$FWD_PORT
ENDPOINT=$(url "$D") start_client c k -e "$(url "$F1")" -e "$(url "$F2")" \
  --blacklist-after 2 --blacklist 2 --blacklist-max 4
# A failure weighs on the choice for `blacklist` seconds; then the broken
# endpoint is tried again, fails again, and is set aside.
for _ in $(seq 8); do
  check --sessions 8 --up 4m --down 4m >/dev/null
  grep -q "endpoint $(url "$D"): set aside" "$TMP/c.err" && break
  sleep 1
done
n=$(grep -c "endpoint $(url "$D"): set aside" "$TMP/c.err" || true)
[ "$n" = 1 ] || { cat "$TMP/c.err" >&2; fail "set aside logged $n times, want once"; }
# While it is set aside: short sessions one after another, none slowed.
t0=$(date +%s%N)
for i in $(seq 10); do check --sessions 1 --up 1k --down 1k >/dev/null; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "10 sessions one after another: ${ms} ms"
[ "$ms" -lt 3000 ] || fail "new sessions took ${ms} ms"
stop bad "$D_PID"
d=$(posts bad)
echo "the broken endpoint saw $d requests"
[ "$d" -ge 2 ] && [ "$d" -le 8 ] || fail "broken endpoint: $d requests (want 2, plus those in flight)"
# It works again: after its time it is tried and used.
FWD_LISTEN_PORT=$D start_forwarder good
sleep 6
check --sessions 8 --up 4m --down 4m
wait_line "$TMP/c.err" "endpoint $(url "$D"): up again" 5
stop good "$FWD_PID"
echo "repaired endpoint served $(posts good) requests"
[ "$(posts good)" -gt 0 ] || fail "the repaired endpoint was never used"
echo ok
