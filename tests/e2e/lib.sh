# Shared helpers for the end-to-end tests: sourced, not run.
# ctest sets URELAY (the binary), NOIOURING (the seccomp wrapper) and SRC.
set -euo pipefail
: "${URELAY:?run through ctest}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_rc CODE CMD...: runs CMD, output in $TMP/out, checks the exit code.
expect_rc() {
  local want=$1; shift
  set +e; "$@" >"$TMP/out" 2>&1; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$TMP/out" >&2; fail "'$*' exited $rc, expected $want"; }
}
expect_out() { grep -qE -- "$1" "$TMP/out" || { cat "$TMP/out" >&2; fail "output lacks /$1/"; }; }
