#!/usr/bin/env bash
# Installs what urelay needs on Debian 12 and builds wolfSSL from Debian's own
# source package with its assembly enabled (the packaged one has none: about
# 0.15 GB/s AES-GCM instead of several GB/s). The build lands in a cached
# prefix outside the source tree and is reused when present.
#
# The source package is fetched through a private apt configuration: a
# deb-src list of its own, derived from the mirrors this machine already uses,
# and its own lists directory. The machine's apt sources are never edited.
#
# Prints the prefix to use on its last line: "WOLFSSL_PREFIX=<dir>" (the
# source build) or "WOLFSSL_PREFIX=system" (fallback to libwolfssl-dev).
set -euo pipefail

CACHE=${URELAY_DEPS_DIR:-/var/cache/urelay-deps}
PKGS=(build-essential cmake pkg-config liburing-dev libwslay-dev libcriterion-dev
      libjansson-dev libc-ares-dev libhttp-parser-dev clang clang-format
      libclang-rt-14-dev autoconf automake libtool dpkg-dev ca-certificates
      libwolfssl-dev iperf3 proxychains4)

log() { printf 'deps: %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    [ "$(id -u)" = 0 ] || { log "need root to install packages"; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Every "deb" URI and suite of the machine's sources, as deb-src lines.
private_src_list() {
  local out=$1
  : >"$out"
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?/deb-src \1/p' "$f" >>"$out"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: keep Types: deb ones, rewrite as deb-src.
    awk -v RS='' '/Types:[^\n]*deb( |$|\n)/ {
        gsub(/Types:[^\n]*/, "Types: deb-src"); print; print "" }' "$f" >>"$out.sources"
  done
  # suites with a '-security' name live on the security mirror; the source
  # package we want is in the main suite, so duplicates are harmless.
}

wolfssl_version() { dpkg-query -W -f='${Version}' libwolfssl-dev 2>/dev/null | sed 's/-[^-]*$//'; }

build_wolfssl() {
  local ver prefix work
  ver=$(wolfssl_version)
  prefix="$CACHE/wolfssl-$ver-asm"
  if [ -f "$prefix/.complete" ]; then
    echo "$prefix"
    return 0
  fi
  log "building wolfSSL $ver from Debian's source package with --enable-intelasm"
  work=$(mktemp -d)
  mkdir -p "$work/apt/lists/partial" "$work/apt/etc"
  private_src_list "$work/apt/etc/sources.list"
  local aptopts=(-o Dir::Etc::sourcelist="$work/apt/etc/sources.list"
                 -o Dir::Etc::SourceParts="$work/apt/etc/parts"
                 -o Dir::State::Lists="$work/apt/lists"
                 -o APT::Get::List-Cleanup=0)
  mkdir -p "$work/apt/etc/parts"
  [ -s "$work/apt/etc/sources.list.sources" ] &&
    cp "$work/apt/etc/sources.list.sources" "$work/apt/etc/parts/src.sources"
  apt-get "${aptopts[@]}" update -qq >/dev/null 2>"$work/apt.err" || { cat "$work/apt.err" >&2; return 1; }
  (cd "$work" && apt-get "${aptopts[@]}" source --download-only -qq wolfssl >/dev/null 2>>"$work/apt.err") ||
    { cat "$work/apt.err" >&2; return 1; }
  # apt-get already checked the files against the signed Sources index;
  # dpkg-source only lacks the uploader's key, so its warning is noise.
  (cd "$work" && dpkg-source -x --skip-patches wolfssl_*.dsc src >/dev/null 2>&1) || return 1
  (
    cd "$work/src"
    # Debian's patches only touch packaging details; apply them for parity.
    if [ -d debian/patches ] && [ -f debian/patches/series ]; then
      while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        patch -p1 -s <"debian/patches/$p"
      done <debian/patches/series
    fi
    ./autogen.sh >/dev/null 2>&1
    ./configure -q --prefix="$prefix" --enable-static --disable-shared \
      --enable-intelasm --enable-aesni --enable-tls13 --enable-sni --enable-alpn \
      --enable-session-ticket --enable-aesgcm --enable-chacha --enable-poly1305 \
      --enable-hkdf --enable-sha512 --enable-supportedcurves --enable-curve25519 \
      --enable-ecc --enable-altcertchains --enable-certgen \
      --disable-examples --disable-crypttests --disable-benchmark \
      CFLAGS="-O2 -fPIC -DWOLFSSL_PUBLIC_MP" >/dev/null
    make -s -j"$(nproc)" >/dev/null 2>&1
    make -s install >/dev/null
  ) || return 1
  touch "$prefix/.complete"
  rm -rf "$work"
  echo "$prefix"
}

install_packages
if prefix=$(build_wolfssl); then
  echo "WOLFSSL_PREFIX=$prefix"
else
  log "!!! wolfSSL source build FAILED: falling back to the packaged libwolfssl-dev"
  log "!!! it has no assembly (AES-GCM ~0.15 GB/s); 'urelay version' will say so"
  echo "WOLFSSL_PREFIX=system"
fi
