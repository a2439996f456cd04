#!/usr/bin/env bash
# With io_uring blocked the way a container's seccomp profile blocks it,
# urelay says so in one line naming the cause and exits 69.
. "$(dirname "$0")/lib.sh"
: "${NOIOURING:?run through ctest}"
expect_rc 69 "$NOIOURING" "$URELAY" selfcheck
expect_out 'io_uring unavailable: io_uring_setup: io_uring is blocked by a seccomp filter'
[ "$(wc -l <"$TMP/out")" = 1 ] || { cat "$TMP/out"; fail "expected exactly one line"; }
expect_rc 0 "$NOIOURING" "$URELAY" version
expect_out '^io_uring: UNAVAILABLE on Linux .*seccomp'
echo ok
