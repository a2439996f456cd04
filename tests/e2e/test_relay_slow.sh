#!/usr/bin/env bash
# Slow reader: a target sends 256 MiB to an app that reads 64 KiB/s for 10 s.
# Flow control must push back to the target: the client's and the exit's
# memory stay within their windows plus a small constant.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client c k
check --up 4m --down 4m >/dev/null # warm up: buffers touched once
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
base_c=$(rss "$CLIENT_PID"); base_e=$(rss "$EXIT_PID")
"$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 60 --up 16 \
  --down 256m --read-rate 65536 --read-for 10 >"$TMP/slow.out" 2>&1 &
SLOW=$!
peak_c=$base_c; peak_e=$base_e
while kill -0 "$SLOW" 2>/dev/null; do
  c=$(rss "$CLIENT_PID"); e=$(rss "$EXIT_PID")
  [ "$c" -gt "$peak_c" ] && peak_c=$c
  [ "$e" -gt "$peak_e" ] && peak_e=$e
  sleep 0.25
done
wait "$SLOW" || { cat "$TMP/slow.out" >&2; fail "slow reader saw wrong bytes"; }
# Window 256 KiB per direction; allow it twice over plus 8 MiB of constant
# (batch buffers, wslay, allocator slack). Without backpressure this would
# be hundreds of MiB.
limit=$(( 2 * 256 + 8192 ))
if [[ "$(ldd "$URELAY")" == *libasan* ]]; then
  # ASan's quarantine and shadow memory make RSS meaningless; the bytes
  # were still checked above.
  echo "ASan build: memory bound not checked (peaks ${peak_c}/${peak_e} KiB)"
  echo ok
  exit 0
fi
echo "client RSS ${base_c} -> peak ${peak_c} KiB; exit RSS ${base_e} -> peak ${peak_e} KiB (limit +${limit} KiB)"
[ $((peak_c - base_c)) -le $limit ] || fail "client grew by $((peak_c - base_c)) KiB"
[ $((peak_e - base_e)) -le $limit ] || fail "exit grew by $((peak_e - base_e)) KiB"
echo ok
