#!/usr/bin/env bash
# `urelay keygen` and the key refusals as `client --check` and `exit --check`
# apply them. Keys are generated here or built at run time: a key spelled
# out in tests/ would be on the published list.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TMP"
hex64='^[0-9a-f]{64}$'

# Fresh keys: 64 lowercase hex digits, different every run.
k1=$("$URELAY" keygen)
k2=$("$URELAY" keygen)
[[ $k1 =~ $hex64 ]] || fail "keygen printed '$k1'"
[[ $k2 =~ $hex64 ]] || fail "keygen printed '$k2'"
[ "$k1" != "$k2" ] || fail "two keygen runs gave the same key"
expect_rc 0 "$URELAY" keygen --help
expect_out 'usage: urelay keygen'
expect_rc 64 "$URELAY" keygen --bogus
expect_out 'unknown option --bogus'
expect_rc 64 "$URELAY" keygen --force
expect_rc 64 "$URELAY" keygen --out

# --out: mode 0600 whatever the umask, one line, never overwritten.
expect_rc 0 bash -c "umask 000; exec \"\$0\" keygen --out a.key" "$URELAY"
expect_out "^wrote a new key to a.key \(mode 0600, key-id [0-9a-f]{8}\)$"
[ "$(stat -c %a a.key)" = 600 ] || fail "a.key has mode $(stat -c %a a.key)"
[ "$(wc -l <a.key)" = 1 ] || fail "a.key is not one line"
grep -qE "$hex64" a.key || fail "a.key does not hold a key"
key=$(cat a.key)
grep -qF "$key" "$TMP/out" && fail "keygen --out printed the key"
expect_rc 1 "$URELAY" keygen --out a.key
expect_out 'a.key exists; refusing to overwrite a key \(pass --force to replace it\)'
[ "$(cat a.key)" = "$key" ] || fail "a refused keygen changed a.key"
expect_rc 0 "$URELAY" keygen --out a.key --force
[ "$(cat a.key)" != "$key" ] || fail "--force did not replace a.key"
[ "$(stat -c %a a.key)" = 600 ] || fail "--force left mode $(stat -c %a a.key)"
[ -z "$(ls a.key.* 2>/dev/null)" ] || fail "--force left a temporary file"
expect_rc 1 "$URELAY" keygen --out "$TMP/no/such/dir/k.key"
expect_out 'cannot write'

# The commands accept the fresh key...
expect_rc 0 "$URELAY" client --check -k a.key -e wss://exit.example
expect_out '^config ok: client .*key-id=[0-9a-f]{8}'
expect_rc 0 "$URELAY" exit --check -k a.key
expect_out '^config ok: exit .*key-ids=[0-9a-f]{8}'

# ...and refuse an exposed file, with the fix in the message.
chmod 644 a.key
expect_rc 65 "$URELAY" client --check -k a.key -e wss://exit.example
expect_out 'mode 0644\); run `chmod 600 a.key`'
expect_rc 65 "$URELAY" exit --check -k a.key
expect_out 'chmod 600 a.key'
chmod 640 a.key
expect_rc 65 "$URELAY" client --check -k a.key -e wss://exit.example
expect_out 'chmod 600 a.key'
chmod 600 a.key

# All-equal bytes.
printf 'aa%.0s' $(seq 32) >eq.key
chmod 600 eq.key
expect_rc 65 "$URELAY" client --check -k eq.key -e wss://exit.example
expect_out 'the key is weak: all 32 bytes are 0xaa'
expect_rc 65 "$URELAY" exit --check -k a.key -k eq.key
expect_out 'all 32 bytes are 0xaa'

# A published key: the one tests/unit/test_key.c spells out to be refused.
pub=$(grep -oE '[0-9a-fA-F]{64}' "$SRC/tests/unit/test_key.c" | head -n 1)
[ -n "$pub" ] || fail "no published key found in test_key.c"
echo "$pub" >pub.key
chmod 600 pub.key
expect_rc 65 "$URELAY" client --check -k pub.key -e wss://exit.example
expect_out 'this key is published in the urelay sources.*urelay keygen --out FILE'

# Malformed, missing, duplicated.
printf '%s\n' "${key:0:20}g${key:21}" >bad.key
chmod 600 bad.key
expect_rc 65 "$URELAY" client --check -k bad.key -e wss://exit.example
expect_out "character 21 of the key \('g'\) is not a hex digit"
printf '%s\n' "${key:0:63}" >short.key
chmod 600 short.key
expect_rc 65 "$URELAY" client --check -k short.key -e wss://exit.example
expect_out 'the key has 63 hex characters, it needs exactly 64'
expect_rc 65 "$URELAY" client --check -k missing.key -e wss://exit.example
expect_out 'key file missing.key: No such file or directory'
cp a.key b.key
expect_rc 65 "$URELAY" exit --check -k a.key -k b.key
expect_out 'key files a.key and b.key hold the same key'
echo ok
