#!/usr/bin/env bash
# The main job on loopback: installs what is missing, builds, and runs it.
# Until the relay data path exists (issue #3) the main job is the machine
# self-check: the io_uring reactor echoes 64 MiB over 127.0.0.1 with every
# byte checked, and sealed batches of frames round-trip with both ciphers.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(bash scripts/build.sh | tail -n 1)
"$dir/tools/urelay" version
echo
exec "$dir/tools/urelay" selfcheck "$@"
