#!/usr/bin/env bash
# The SOCKS5 reply carries the exit's real dial result.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_dns
CLOSED=$(free_port)

start_exit open --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client c1 k
r=$(reply "127.0.0.1:$TARGET_PORT"); [ "$r" = 0x00 ] || fail "open target: reply $r"
r=$(reply "target.test:$TARGET_PORT"); [ "$r" = 0x00 ] || fail "name via DNS: reply $r"
r=$(reply "127.0.0.1:$CLOSED"); [ "$r" = 0x05 ] || fail "closed port: reply $r, want 0x05"
r=$(reply "no-such-name.test:$TARGET_PORT"); [ "$r" = 0x04 ] || fail "unknown name: reply $r, want 0x04"
r=$(reply "[::1]:$CLOSED"); [ "$r" = 0x02 ] || fail "::1 not allowed: reply $r, want 0x02"
echo "open 0x00, name 0x00, closed port 0x05, unknown name 0x04, ::1 outside allow-dest 0x02"

# Without --allow-dest, loopback is denied (egress policy), after resolution too.
start_exit strict --key-file "$TMP/k"
start_client c2 k
r=$(reply "127.0.0.1:$TARGET_PORT"); [ "$r" = 0x02 ] || fail "denied address: reply $r, want 0x02"
r=$(reply "target.test:$TARGET_PORT"); [ "$r" = 0x02 ] || fail "denied after DNS: reply $r, want 0x02"
r=$(reply "localhost:$TARGET_PORT"); [ "$r" = 0x02 ] || fail "localhost: reply $r, want 0x02"
# and the target never saw a connection attempt from the strict exit
echo "without --allow-dest: 127.0.0.1, a name resolving to it, localhost all 0x02"
echo ok
