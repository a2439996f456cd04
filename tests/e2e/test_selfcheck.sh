#!/usr/bin/env bash
# The main job's self-check passes here and reports real figures.
. "$(dirname "$0")/lib.sh"
expect_rc 0 "$URELAY" selfcheck --mib 16 --seconds 0.1
expect_out '^reactor: 16 MiB echoed over loopback, every byte checked: ok; [0-9]+ MB/s'
expect_out '^crypto: aes-256-gcm .*: ok; [0-9]+ MB/s'
expect_out '^crypto: chacha20-poly1305 .*: ok; [0-9]+ MB/s'
expect_out 'tampered batch refused \(batch authentication failed\), scratch wiped: yes; reflected batch refused: yes'
expect_out '^selfcheck: all checks passed$'
expect_rc 64 "$URELAY" selfcheck --mib 0
expect_out -- '--mib: .0. is not a number in 1..4096'
expect_rc 64 "$URELAY" selfcheck --bogus
expect_out "unknown option '--bogus'"
echo ok
