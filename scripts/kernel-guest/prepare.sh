#!/usr/bin/env bash
# Prepares a bootable stock Debian 12 kernel (6.1) for qemu TCG guests, cached in
# .cache/kernel-guest/ — nothing is installed on the host and no binary is committed:
#
#   1. resolve the image package that `linux-image-amd64` depends on (apt-cache, e.g.
#      linux-image-6.1.0-56-amd64) and its candidate version;
#   2. `apt-get download` it, `dpkg -x` it into a scratch dir (never installed);
#   3. keep the uncompressed vmlinux (booted through PVH: no decompression in the emulator) and the
#      few modules the guest needs (virtio PCI, 9p over virtio), in dependency order (kmod's
#      depmod/modprobe --show-depends over the extracted tree);
#   4. build an uncompressed initramfs: static busybox + scripts/kernel-guest/init + those modules.
#
# Cache: .cache/kernel-guest/<package>_<version>/ holds vmlinux, modules/, release, and
# initramfs-<recipe hash>.cpio (rebuilt when init, this script or busybox change). Nothing is
# downloaded when the resolved version is already there; a newer one replaces the older. If the
# download fails (no network, or stale apt lists even after `apt-get update`), the newest kernel
# already cached is used instead. Concurrent runs wait on a lock.
#
# Prints the ready directory's path as the only line on stdout (`vmlinux`, `initramfs.cpio` and
# `release` inside). Exit 0: ready; 77: something outside the project is missing (no qemu and apt
# cannot install it, no apt, no network to the Debian archive) — the reason is on stderr in a line
# `kernel-guest: unavailable: …`; anything else: a real failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${SLUICE_KERNEL_GUEST_CACHE:-$ROOT/.cache/kernel-guest}"
META_PACKAGE="${SLUICE_KERNEL_GUEST_META:-linux-image-amd64}"
# Modules the guest loads (dependencies are added): virtio PCI transport, 9p over virtio.
MODULES=(virtio_pci 9pnet_virtio 9p)
# Host tools, and the Debian packages that provide them.
declare -A TOOL_PACKAGE=([qemu-system-x86_64]=qemu-system-x86 [busybox]=busybox-static [depmod]=kmod [modprobe]=kmod [xz]=xz-utils [dpkg]=dpkg [apt-get]=apt [flock]=util-linux)

say() { printf 'kernel-guest: %s\n' "$*" >&2; }
unavailable() { say "unavailable: $*"; exit 77; }
die() { say "error: $*"; exit 1; }

busybox_bin() {
  # The static one: the initramfs has no libc.
  for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
  done
  return 1
}

ensure_tools() {
  local missing=() t
  for t in "${!TOOL_PACKAGE[@]}"; do
    if [ "$t" = busybox ]; then busybox_bin >/dev/null || missing+=("${TOOL_PACKAGE[$t]}")
    else PATH="$PATH:/usr/sbin:/sbin" command -v "$t" >/dev/null 2>&1 || missing+=("${TOOL_PACKAGE[$t]}"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  command -v apt-get >/dev/null 2>&1 || unavailable "missing ${missing[*]} and no apt-get to install them"
  [ "$(id -u)" = 0 ] || unavailable "missing ${missing[*]} (install them as root: apt-get install ${missing[*]})"
  say "installing ${missing[*]} (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || unavailable "missing ${missing[*]} and apt-get cannot install them"
  fi
}

# "<image package> <version>" that the meta package currently depends on, from the local apt lists.
resolve_package() {
  local name version
  name="$(apt-cache depends "$META_PACKAGE" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')"
  [ -n "$name" ] || return 1
  version="$(apt-cache policy "$name" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')"
  [ -n "$version" ] && [ "$version" != "(none)" ] || return 1
  echo "$name $version"
}

newest_cached() {
  local d
  # shellcheck disable=SC2012
  for d in $(ls -1dt "$CACHE"/linux-image-*/ 2>/dev/null); do
    if [ -f "$d/vmlinux" ] && [ -f "$d/release" ] && [ -f "$d/modules/order" ]; then echo "${d%/}"; return 0; fi
  done
  return 1
}

# Downloads and extracts "$1=$2" into $3 (vmlinux, modules/, release). Fails quietly if apt cannot fetch it.
fetch_kernel() {
  local name="$1" version="$2" dest="$3" work deb release dep mod base
  work="$(mktemp -d "$CACHE/.work.XXXXXX")"
  SCRATCH+=("$work")
  say "downloading $name=$version (apt-get download)"
  # apt-get download writes into the current directory; as root it warns that _apt cannot write there.
  (cd "$work" && apt-get download -q "$name=$version" >"$work/download.log" 2>&1) || { sed 's/^/  apt: /' "$work/download.log" >&2; return 1; }
  deb="$(ls "$work"/*.deb)"
  say "extracting $(basename "$deb") (dpkg -x, not installed)"
  dpkg -x "$deb" "$work/root"
  release="$(ls "$work/root/lib/modules" | head -1)"
  [ -n "$release" ] || die "no lib/modules/<release> in $deb"
  mkdir -p "$work/out/modules"
  extract_vmlinux "$work/root/boot/vmlinuz-$release" "$work/out/vmlinux" || {
    say "could not decompress vmlinuz; the guest boots the compressed image (slower)"
    cp "$work/root/boot/vmlinuz-$release" "$work/out/vmlinux"
  }
  # modules.dep for the extracted tree, then the load order of what the guest needs.
  PATH="$PATH:/usr/sbin:/sbin" depmod -b "$work/root" "$release"
  : >"$work/out/modules/order"
  for mod in "${MODULES[@]}"; do
    while read -r verb dep _; do
      [ "$verb" = insmod ] || continue
      base="$(basename "$dep")"
      grep -qxF "$base" "$work/out/modules/order" && continue
      cp "$dep" "$work/out/modules/$base"
      echo "$base" >>"$work/out/modules/order"
    done < <(PATH="$PATH:/usr/sbin:/sbin" modprobe -d "$work/root" -S "$release" --show-depends "$mod")
  done
  [ -s "$work/out/modules/order" ] || die "modprobe --show-depends found none of ${MODULES[*]}"
  echo "$release" >"$work/out/release"
  echo "$name=$version" >"$work/out/package"
  rm -rf "$dest"
  mv "$work/out" "$dest"
  rm -rf "$work"
  # Older kernels (the archive moved on) are not needed any more.
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' ! -path "$dest" -exec rm -rf {} +
}

# The uncompressed ELF inside a bzImage (like the kernel's scripts/extract-vmlinux): try each
# compressed stream's offset until one decompresses to an ELF file.
extract_vmlinux() {
  local in="$1" out="$2" magic tool off
  for pair in 'fd377a585a00:xz -dc' '1f8b08:gzip -dc' '28b52ffd:zstd -dc'; do
    magic="${pair%%:*}"; tool="${pair#*:}"
    command -v "${tool%% *}" >/dev/null 2>&1 || continue
    for off in $(LC_ALL=C grep -obUaP "$(echo "$magic" | sed 's/../\\x&/g')" "$in" 2>/dev/null | cut -d: -f1 | head -5); do
      tail -c "+$((off + 1))" "$in" | $tool >"$out" 2>/dev/null || true
      if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then return 0; fi
    done
  done
  rm -f "$out"
  return 1
}

build_initramfs() {
  local dir="$1" out="$2" bb stage
  bb="$(busybox_bin)" || die "no static busybox"
  stage="$(mktemp -d "$CACHE/.initramfs.XXXXXX")"
  SCRATCH+=("$stage")
  mkdir -p "$stage"/{bin,dev,proc,sys,host,share,lib/modules}
  cp "$bb" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  install -m 0755 "$HERE/init" "$stage/init"
  cp "$dir"/modules/*.ko "$dir/modules/order" "$stage/lib/modules/"
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc 2>/dev/null) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
}

SCRATCH=()
cleanup() { [ ${#SCRATCH[@]} -eq 0 ] || rm -rf "${SCRATCH[@]}"; }
trap cleanup EXIT

main() {
  ensure_tools
  command -v apt-cache >/dev/null 2>&1 || unavailable "no apt-cache (the guest kernel is the Debian 12 package)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9

  local resolved="" dir="" why=""
  resolved="$(resolve_package)" || {
    [ "$(id -u)" = 0 ] && { say "apt-get update (no candidate for $META_PACKAGE)"; apt-get update -qq >/dev/null 2>&1 || true; }
    resolved="$(resolve_package)" || why="apt knows no candidate for $META_PACKAGE (no Debian 12 sources, or apt-get update cannot reach the archive)"
  }
  if [ -n "$resolved" ]; then
    local name="${resolved% *}" version="${resolved#* }"
    dir="$CACHE/${name}_${version}"
    if [ ! -f "$dir/release" ]; then
      if ! fetch_kernel "$name" "$version" "$dir"; then
        dir=""
        why="cannot download $name=$version from the Debian archive (no network?)"
        if [ "$(id -u)" = 0 ]; then
          say "retrying after apt-get update (the archive may have moved on)"
          if apt-get update -qq >/dev/null 2>&1 && resolved="$(resolve_package)"; then
            name="${resolved% *}"; version="${resolved#* }"
            dir="$CACHE/${name}_${version}"
            [ -f "$dir/release" ] || fetch_kernel "$name" "$version" "$dir" || dir=""
          fi
        fi
      fi
    fi
  fi
  if [ -z "$dir" ]; then
    dir="$(newest_cached)" || unavailable "$why, and no kernel is cached in $CACHE"
    say "using the cached $(cat "$dir/package" 2>/dev/null || basename "$dir")"
  fi

  local recipe initramfs
  recipe="$(cat "$HERE/init" "$0" "$dir/modules/order" "$(busybox_bin)" | sha256sum | cut -c1-16)"
  initramfs="$dir/initramfs-$recipe.cpio"
  if [ ! -f "$initramfs" ]; then
    say "building the initramfs (busybox, $(wc -l <"$dir/modules/order") modules)"
    rm -f "$dir"/initramfs-*.cpio
    build_initramfs "$dir" "$initramfs"
  fi
  ln -sfn "$(basename "$initramfs")" "$dir/initramfs.cpio"
  echo "$dir"
}

main "$@"
