#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Regenerate vmlinux/vmlinux.h from the running kernel's BTF.  The header is
# committed so that a build never depends on the build machine's kernel;
# CO-RE relocations adapt the compiled BPF program to the kernel it loads on.
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/../vmlinux/vmlinux.h
[ -r "$btf" ] || { echo "gen-vmlinux: $btf not readable: need a kernel built with CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
