#!/usr/bin/env bash
# Runs one command inside a qemu TCG guest booted on the stock Debian 12 kernel (6.1) prepared by
# prepare.sh, with the host's / shared read-only over 9p, and exits with the command's exit code.
#
#   scripts/kernel-guest/run-guest.sh [--timeout SECONDS] [--env NAME=VALUE]... [--cwd DIR]
#                                     [--keep PATH]... [--console] [--guest DIR] -- COMMAND [ARG...]
#
# --guest DIR: a directory prepare.sh printed (skips calling it again).
#
# The guest (scripts/kernel-guest/init) chroots into the host's /, with fresh proc, sys, dev,
# tmpfs on /tmp, /var/tmp, /run and /dev/shm, bpffs on /sys/fs/bpf and cgroup2 on /sys/fs/cgroup,
# lo up and no other network. The command runs as root in DIR (default: the current directory)
# with PATH from here, HOME=/tmp, TMPDIR=/tmp, SLUICE_KERNEL_GUEST=1 and the --env values.
# Directories under /tmp, /var/tmp, /run would be hidden by those tmpfs: DIR is kept visible
# automatically, other paths with --keep.
#
# Output: the command's stdout+stderr on stdout once the guest is done (its console with
# --console, live, on stderr). On failure (non-zero exit, timeout, guest crash) the guest's
# console is printed on stderr. Exit: the command's exit code; 124 on timeout (default 300 s);
# 125 if the guest ended without reporting one; 77 if prepare.sh says something outside the
# project is missing (no qemu and apt cannot install it, no network to the Debian archive).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TIMEOUT=300
CWD="$PWD"
CONSOLE=0
ENVS=()
KEEP=()
GUEST=""
MEMORY="${SLUICE_KERNEL_GUEST_MEMORY:-2G}"
SMP="${SLUICE_KERNEL_GUEST_SMP:-2}"

usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --env) [[ "$2" == *=* ]] || usage; ENVS+=("$2"); shift 2 ;;
    --cwd) CWD="$(cd "$2" && pwd)"; shift 2 ;;
    --keep) KEEP+=("$2"); shift 2 ;;
    --console) CONSOLE=1; shift ;;
    --guest) GUEST="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || usage

say() { printf 'kernel-guest: %s\n' "$*" >&2; }
# Single-quoted for sh (the guest's /bin/sh may be dash).
q() { local s="${1//\'/\'\\\'\'}"; printf "'%s'" "$s"; }

started=$(date +%s%N)
if [ -z "$GUEST" ]; then
  set +e
  GUEST="$("$HERE/prepare.sh")"
  prep=$?
  set -e
  [ $prep -eq 0 ] || exit $prep
fi
[ -f "$GUEST/vmlinux" ] && [ -f "$GUEST/initramfs.cpio" ] || { say "no vmlinux/initramfs.cpio in $GUEST"; exit 1; }
RELEASE="$(cat "$GUEST/release")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kernel-guest.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/share"

for d in /tmp /var/tmp /run /dev/shm; do
  case "$CWD/" in "$d"/*) KEEP+=("$CWD") ;; esac
done
printf '%s\n' "${KEEP[@]+"${KEEP[@]}"}" >"$WORK/share/keep"
{
  echo "cd $(q "$CWD") || exit 125"
  echo "export PATH=$(q "$PATH") HOME=/tmp TMPDIR=/tmp SLUICE_KERNEL_GUEST=1 LANG=C.UTF-8"
  for e in "${ENVS[@]+"${ENVS[@]}"}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
  printf 'exec'
  for a in "$@"; do printf ' %s' "$(q "$a")"; done
  echo
} >"$WORK/share/cmd"

qemu=(
  qemu-system-x86_64 -accel tcg -cpu max -m "$MEMORY" -smp "$SMP"
  -nodefaults -display none -no-reboot -serial stdio
  -kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio"
  -append "console=ttyS0 quiet panic=-1 rdinit=/init"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$WORK/share,mount_tag=share,security_model=none,multidevs=remap"
  -device isa-debug-exit,iobase=0xf4,iosize=0x04
)
say "booting $RELEASE (qemu TCG, timeout ${TIMEOUT}s): $*"
set +e
if [ $CONSOLE = 1 ]; then
  timeout -k 5 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$WORK/console.log" >&2
  code=${PIPESTATUS[0]}
else
  timeout -k 5 "$TIMEOUT" "${qemu[@]}" </dev/null >"$WORK/console.log" 2>&1
  code=$?
fi
set -e

guest_rc="$(cat "$WORK/share/rc" 2>/dev/null || true)"
if [ $code -eq 124 ] || [ $code -eq 137 ]; then
  rc=124; why="timed out after ${TIMEOUT}s"
elif [ $((code % 2)) -eq 1 ] && [ -n "$guest_rc" ] && [ $((code >> 1)) -eq "$guest_rc" ]; then
  rc=$guest_rc; why="exit $rc"
else
  rc=125; why="the guest ended without reporting an exit code (qemu exit $code)"
fi

[ ! -f "$WORK/share/output" ] || cat "$WORK/share/output"
elapsed=$(( ($(date +%s%N) - started) / 1000000000 ))
if [ $rc -ne 0 ]; then
  say "$RELEASE: $why; guest console:"
  sed 's/^/  | /' "$WORK/console.log" >&2
fi
say "$RELEASE: $why (${elapsed}s incl. boot)"
exit $rc
