#!/usr/bin/env bash
# `urelay version` names the versions, the wolfSSL build and io_uring state.
. "$(dirname "$0")/lib.sh"
expect_rc 0 "$URELAY" version
expect_out '^urelay [0-9]+\.[0-9]+\.[0-9]+ \(protocol v1\)$'
expect_out '^wolfSSL [0-9.]+: .*assembly (in use|NOT in use)'
expect_out '^io_uring: available on Linux .*SINGLE_ISSUER.*DEFER_TASKRUN'
expect_rc 0 "$URELAY" --version
expect_out '^urelay '
expect_rc 64 "$URELAY" version extra
expect_out 'unexpected argument'
expect_rc 64 "$URELAY" no-such-command
expect_out "unknown command 'no-such-command'"
expect_rc 0 "$URELAY" help
for c in client exit keygen version selfcheck; do expect_out "^  $c "; done
echo ok
