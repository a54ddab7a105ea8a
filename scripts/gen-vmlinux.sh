#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Regenerate vmlinux/ARCH/vmlinux.h (ARCH: x86 or arm64, the running
# kernel's by default) from a kernel's BTF.  The headers are committed so
# that a build never depends on the build machine's kernel; CO-RE
# relocations adapt the compiled BPF program to the kernel it loads on.
#
#   scripts/gen-vmlinux.sh [BTF [ARCH]]
#
# The arm64 one comes from the emulated VM's kernel: scripts/arm64-vm build
# dumps it (.deps/arm64/vmlinux.h).
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')}
out=$(dirname "$0")/../vmlinux/$arch/vmlinux.h
[ -r "$btf" ] || { echo "gen-vmlinux: $btf not readable: need a kernel built with CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
