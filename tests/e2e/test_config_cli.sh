#!/usr/bin/env bash
# `urelay client` and `urelay exit` configuration from files and flags: exit
# codes, error positions, overrides, the remote-SOCKS guard, --help, and
# that the key never shows up in any output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TMP"
: >all
# run CODE ARGS...: expect_rc, keeping every output for the final key check.
run() {
  local rc=0
  expect_rc "$@" || rc=$?
  cat "$TMP/out" >>all
  return $rc
}

"$URELAY" keygen --out c.key >/dev/null
"$URELAY" keygen --out d.key >/dev/null
cat >client.json <<JSON
{
  "key_file": "c.key",
  "endpoints": ["wss://exit.example", "http://[::1]:8080/t"],
  "window": "1m",
  "log_level": "warn"
}
JSON
cat >bad.json <<JSON
{
  "key_file": "c.key",
  "endpoints": ["wss://exit.example"],
  "windw": 5
}
JSON
cat >exit.json <<JSON
{
  "listen": "0.0.0.0:8443",
  "key_files": ["c.key", "d.key"],
  "allow_dest": ["127.0.0.0/8", "::1/128"],
  "max_sessions": 1000
}
JSON

# A good config.
run 0 "$URELAY" client -c client.json --check
expect_out '^config ok: client socks=127.0.0.1:1080 .*endpoints=wss://exit.example:443/stream,http://\[::1\]:8080/t .*window=1m .*key-id=[0-9a-f]{8}$'
run 0 "$URELAY" client --config=client.json --check
expect_out '^config ok: client '

# Flags override the file, wherever they stand.
run 0 "$URELAY" client --window 4m -c client.json --check --cipher chacha20-poly1305
expect_out ' window=4m '
expect_out ' cipher=chacha20-poly1305 '
run 0 "$URELAY" client -c client.json --check -e ws://other.example:81
expect_out ' endpoints=ws://other.example:81/stream '

# Unknown key: 78 with file:line:col and the key.
run 78 "$URELAY" client -c bad.json --check
expect_out '^urelay client: bad.json:4:3: unknown key "windw" \(did you mean "window"\?\)$'
# Bad values, from the file and from flags: 78 with the position or flag.
printf '{\n  "window": 5\n}\n' >range.json
run 78 "$URELAY" client -c range.json -k c.key -e ws://h --check
expect_out 'range.json:2:13: key "window": 5 is out of range \(allowed 65536..67108864\)'
printf '{"window": 5,}' >syntax.json
run 78 "$URELAY" client -c syntax.json --check
expect_out 'syntax.json:1:14: JSON syntax error'
run 78 "$URELAY" client -c client.json --check --window 5
expect_out '^urelay client: --window: 5 is out of range \(allowed 65536..67108864\)$'
run 78 "$URELAY" client -c client.json --check --cipher rot13
expect_out 'is not one of: aes-256-gcm, chacha20-poly1305'
run 78 "$URELAY" client -c missing.json --check
expect_out 'cannot read config file missing.json'
run 78 "$URELAY" client --check -k c.key
expect_out 'no endpoints'
run 78 "$URELAY" client --check -k c.key -e ws://h --socks-user bob
expect_out 'set without --socks-password'

# Bad command lines: 64.
run 64 "$URELAY" client --bogus
expect_out 'unknown option --bogus'
run 64 "$URELAY" client -c client.json --windw 4m
expect_out 'did you mean --window\?'
run 64 "$URELAY" client -c client.json stray
run 64 "$URELAY" client -c client.json --socks
expect_out '--socks: needs a value'

# A SOCKS server off loopback needs allow_remote_socks, then warns.
run 78 "$URELAY" client -c client.json --check --socks 0.0.0.0:1080
expect_out '0.0.0.0:1080 is not a loopback address.*allow_remote_socks'
run 0 "$URELAY" client -c client.json --check --socks 0.0.0.0:1080 --allow-remote-socks
expect_out 'WARN .*not on loopback'
expect_out '^config ok: client socks=0.0.0.0:1080 allow_remote_socks=true '

# connect takes an IP, so the dial never depends on DNS.
run 78 "$URELAY" client -c client.json --check --connect localhost:443
expect_out -- '--connect: "localhost" is a name; connect takes an IP address'
run 0 "$URELAY" client -c client.json --check --connect 127.0.0.1:443 --sni relay.test
expect_out 'connect=127.0.0.1:443 sni=relay.test'

# (Running for real, without --check, is the relay tests' job: test_relay_*.sh.
# Not here: this config's endpoint names would need the machine's resolver.)

# The exit.
run 0 "$URELAY" exit -c exit.json --check
expect_out '^config ok: exit listen=0.0.0.0:8443 key_files=c.key,d.key allow_dest=127.0.0.0/8,::1/128 max_sessions=1000 max_sessions_per_client=256 max_instances=8 window=256k long_poll=20 post_coalesce_ms=0 grace=30 log_level=info key-ids=[0-9a-f]{8},[0-9a-f]{8}$'
run 0 "$URELAY" exit -c exit.json --check -k d.key
expect_out ' key_files=d.key '
run 78 "$URELAY" exit -c exit.json --check --allow-dest 10.0.0.1/8
expect_out '--allow-dest: "10.0.0.1/8" has host bits set after the /8 prefix \(did you mean 10.0.0.0/8\?\)'
printf '{"key_files": ["c.key"],\n "tls_cert": "/nonexistent.pem", "tls_key": "/x"}' >tls.json
run 78 "$URELAY" exit -c tls.json --check
expect_out 'tls.json:2:14: key "tls_cert": cannot read /nonexistent.pem'
run 64 "$URELAY" exit --socks 127.0.0.1:1
expect_out 'unknown option --socks'

# --help lists every option of docs/configuration.md's tables, and the
# tables are not empty.
doc="$SRC/docs/configuration.md"
for cmd in client exit; do
  run 0 "$URELAY" "$cmd" --help
  expect_out "^usage: urelay $cmd "
  rows=$(awk -v c="## \`urelay $cmd\`" '$0 == c {on=1; next} /^## / {on=0} on && /^\| `/' "$doc")
  n=0
  while IFS= read -r row; do
    key=$(sed -E 's/^\| `([a-z_]+)`.*/\1/' <<<"$row")
    flag=$(sed -E 's/^\| `[a-z_]+` \| `(--[a-z-]+)`.*/\1/' <<<"$row")
    grep -qF "json \"$key\"" "$TMP/out" || fail "$cmd --help lacks key $key"
    grep -qF -- "$flag" "$TMP/out" || fail "$cmd --help lacks flag $flag"
    n=$((n + 1))
  done <<<"$rows"
  [ "$n" -ge 8 ] || fail "found only $n $cmd options in $doc"
done

# The key, in any case, appears nowhere.
for k in c.key d.key; do
  hex=$(tr -d '\n' <"$k")
  grep -qiF "$hex" all && fail "the key in $k appears in the output"
done
echo ok
