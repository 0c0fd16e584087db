#!/usr/bin/env bash
# Builds vendor/libbpf/libsluice-bpf.so: libbpf + libelf (elfutils) + zlib from Debian 12's source
# packages, compiled as position-independent static archives and linked into ONE shared object that
# needs only libc. Its exports are libbpf's own (libbpf.map version script); libelf and zlib stay
# private to it. sluice embeds the file in dist/sluice and dlopens it through a memfd at run time.
#
#   scripts/build-libbpf.sh            build, write vendor/libbpf/{libsluice-bpf.so,MANIFEST}
#   scripts/build-libbpf.sh --verify   build into the work dir only and compare with the committed MANIFEST
#
# Idempotent: sources already fetched are reused, the build tree is made anew each run, and the
# output is byte-for-byte reproducible (fixed flags, -ffile-prefix-map, stripped, deterministic ar).
# The committed .so is the cache: CI never runs this script; test/kernel/libbpf/vendored.test.ts
# checks the committed file against MANIFEST.
#
# Fetching uses a PRIVATE apt configuration (its own sources list with a deb-src line, its own state
# and cache dirs under the work dir): the system's apt setup is never changed.
# Pinned versions can be overridden (e.g. after a Debian point release) with LIBBPF_DEB, ELFUTILS_DEB, ZLIB_DEB.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LIBBPF_DEB=${LIBBPF_DEB:-1.1.2-0+deb12u1}
ELFUTILS_DEB=${ELFUTILS_DEB:-0.188-2.1}
ZLIB_DEB=${ZLIB_DEB:-1:1.2.13.dfsg-1}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

WORK=${SLUICE_LIBBPF_WORK:-$ROOT/.cache/libbpf-build}
OUT_DIR=$ROOT/vendor/libbpf
SO_NAME=libsluice-bpf.so
CFLAGS_COMMON="-O2 -fPIC -fno-semantic-interposition -ffile-prefix-map=$WORK=/sluice-libbpf"
LDFLAGS_SO="-shared -Wl,-soname,$SO_NAME -Wl,-z,defs -Wl,-z,relro -Wl,-z,now -Wl,--hash-style=gnu -Wl,--build-id=sha1 -s"
TOOLS_PKGS=(dpkg-dev gcc make pkg-config zlib1g-dev bzip2 xz-utils binutils ca-certificates)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-libbpf: %s\n' "$*" >&2; exit 1; }

verify_only=0
case "${1:-}" in
  "") ;;
  --verify) verify_only=1 ;;
  *) die "unknown argument $1 (usage: scripts/build-libbpf.sh [--verify])" ;;
esac

install_tools() {
  local missing=()
  for p in "${TOOLS_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]} (run: sudo apt-get install ${missing[*]})"
  say "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A private apt: only our deb-src line, our own lists and cache; dpkg's status is read, never written.
APT_DIR=$WORK/apt
apt_private() {
  apt-get \
    -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State="$APT_DIR/state" -o Dir::State::Lists="$APT_DIR/state/lists" \
    -o Dir::State::status=/var/lib/dpkg/status -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Sandbox::User=root -q "$@"
}

fetch_sources() {
  mkdir -p "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial" "$WORK/src"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$MIRROR" "$SUITE" >"$APT_DIR/sources.list"
  local want=() pkg ver
  for spec in "libbpf=$LIBBPF_DEB" "elfutils=$ELFUTILS_DEB" "zlib=$ZLIB_DEB"; do
    pkg=${spec%%=*}; ver=${spec#*=}; ver=${ver#*:}
    [ -f "$WORK/src/${pkg}_${ver}.dsc" ] || want+=("$spec")
  done
  if [ ${#want[@]} -gt 0 ]; then
    say "fetching Debian source packages: ${want[*]}"
    apt_private update >/dev/null
    # apt-get source verifies each .dsc against the signed Sources index, then dpkg-source unpacks it.
    (cd "$WORK/src" && apt_private source "${want[@]}" >/dev/null)
  else
    say "Debian source packages already fetched in $WORK/src"
  fi
}

# Unpacked trees, by the upstream version embedded in the Debian version.
src_dir() { local pkg=$1 ver=$2; ver=${ver#*:}; echo "$WORK/src/$pkg-${ver%-*}"; }

build_all() {
  local B=$WORK/build
  rm -rf "$B"; mkdir -p "$B/stage"
  local zsrc esrc bsrc
  zsrc=$(src_dir zlib "$ZLIB_DEB"); esrc=$(src_dir elfutils "$ELFUTILS_DEB"); bsrc=$(src_dir libbpf "$LIBBPF_DEB")
  for d in "$zsrc" "$esrc" "$bsrc"; do [ -d "$d" ] || die "$d missing (remove $WORK/src and run again)"; done
  cp -a "$zsrc" "$B/zlib"; cp -a "$esrc" "$B/elfutils"; cp -a "$bsrc" "$B/libbpf"

  say "zlib (static, PIC)"
  (cd "$B/zlib" && CFLAGS="$CFLAGS_COMMON" ./configure --static >"$B/zlib.log" 2>&1 && make -j"$(nproc)" libz.a >>"$B/zlib.log" 2>&1) ||
    { tail -30 "$B/zlib.log" >&2; die "zlib build failed"; }
  cp "$B/zlib/libz.a" "$B/stage/"

  say "libelf from elfutils (static, PIC)"
  (cd "$B/elfutils" &&
    ./configure --disable-debuginfod --disable-libdebuginfod --disable-demangler --without-bzlib --without-lzma \
      --without-zstd CFLAGS="$CFLAGS_COMMON -I$B/zlib" LDFLAGS="-L$B/stage" >"$B/elfutils.log" 2>&1 &&
    make -C lib -j"$(nproc)" >>"$B/elfutils.log" 2>&1 &&
    make -C libelf -j"$(nproc)" libelf.a >>"$B/elfutils.log" 2>&1) ||
    { tail -30 "$B/elfutils.log" >&2; die "elfutils build failed"; }
  cp "$B/elfutils/libelf/libelf.a" "$B/elfutils/lib/libeu.a" "$B/stage/"

  say "libbpf (static, PIC)"
  mkdir -p "$B/libbpf-obj"
  (make -C "$B/libbpf/src" -j"$(nproc)" BUILD_STATIC_ONLY=y NO_PKG_CONFIG=1 OBJDIR="$B/libbpf-obj" \
    CFLAGS="$CFLAGS_COMMON -Wall -std=gnu89" EXTRA_CFLAGS="-I$B/elfutils/libelf -I$B/zlib" \
    "$B/libbpf-obj/libbpf.a" >"$B/libbpf.log" 2>&1) ||
    { tail -30 "$B/libbpf.log" >&2; die "libbpf build failed"; }
  cp "$B/libbpf-obj/libbpf.a" "$B/stage/"

  say "linking $SO_NAME"
  # shellcheck disable=SC2086
  gcc $LDFLAGS_SO -Wl,--version-script="$B/libbpf/src/libbpf.map" -o "$B/$SO_NAME" \
    -Wl,--whole-archive "$B/stage/libbpf.a" -Wl,--no-whole-archive \
    "$B/stage/libelf.a" "$B/stage/libeu.a" "$B/stage/libz.a" -lc
  check_so "$B/$SO_NAME"
  BUILT=$B/$SO_NAME
}

# Needs only libc (and the dynamic loader); exports nothing outside libbpf's version nodes.
check_so() {
  local so=$1 needed
  needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
  # ld-linux comes with libc: libelf's __thread variables need __tls_get_addr from it.
  case "$needed" in
    "libc.so.6" | "ld-linux-x86-64.so.2 libc.so.6") ;;
    *) die "$so needs [$needed], expected only libc.so.6 (and ld-linux)" ;;
  esac
  if ldd "$so" | grep -vE 'linux-vdso|libc\.so\.6|ld-linux|^\s*/lib' | grep -q .; then
    ldd "$so" >&2; die "$so: ldd shows dependencies beyond libc"
  fi
  local foreign
  foreign=$(readelf --dyn-syms -W "$so" | awk '$5=="GLOBAL" && $7!="UND" && $7!="ABS" {print $8}' | grep -v '@@\?LIBBPF_' || true)
  [ -z "$foreign" ] || die "$so exports symbols outside libbpf.map: $(echo "$foreign" | head -5 | tr '\n' ' ')"
}

write_manifest() {
  local so=$1 sha size
  sha=$(sha256sum "$so" | cut -d' ' -f1); size=$(stat -c %s "$so")
  cat <<EOF
# vendor/libbpf/MANIFEST — written by scripts/build-libbpf.sh; do not edit by hand.
file: $SO_NAME
sha256: $sha
size: $size
source.libbpf: $LIBBPF_DEB
source.elfutils: $ELFUTILS_DEB
source.zlib: $ZLIB_DEB
source.suite: debian $SUITE main (deb-src)
compiler: $(gcc --version | head -1)
cflags: $CFLAGS_COMMON (prefix map of the work dir)
ldflags: $LDFLAGS_SO -Wl,--version-script=libbpf.map
license.libbpf: LGPL-2.1 OR BSD-2-Clause
license.libelf: GPL-2.0-or-later OR LGPL-3.0-or-later
license.zlib: Zlib
needed: $(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
EOF
}

started=$(date +%s)
install_tools
fetch_sources
build_all
sha=$(sha256sum "$BUILT" | cut -d' ' -f1)
size=$(stat -c %s "$BUILT")
elapsed=$(( $(date +%s) - started ))

if [ $verify_only = 1 ]; then
  want=$(sed -n 's/^sha256: //p' "$OUT_DIR/MANIFEST" 2>/dev/null || true)
  [ "$sha" = "$want" ] || die "rebuilt sha256 $sha differs from MANIFEST's ${want:-<none>}"
  say "reproduced: sha256 $sha ($size bytes) in ${elapsed}s"
  exit 0
fi

mkdir -p "$OUT_DIR"
cp "$BUILT" "$OUT_DIR/$SO_NAME"
write_manifest "$OUT_DIR/$SO_NAME" | sed "s|$WORK|<work>|g" >"$OUT_DIR/MANIFEST"
say "$OUT_DIR/$SO_NAME: $size bytes, built in ${elapsed}s"
echo "sha256 $sha"
