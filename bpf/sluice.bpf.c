/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice.bpf.o — one object so every program shares the maps of sluice_maps.h without a
 * static-linking step. Each concern lives in its own file:
 *   proc_track.bpf.c  tp_btf/sched_process_{fork,exec,exit}: classification follows processes
 *   egress.bpf.c      cgroup/{connect4,connect6,sendmsg4,sendmsg6}: allow / EPERM / audit / redirect;
 *                     cgroup/getpeername{4,6} and sockops for redirected sockets
 *   tc_egress.bpf.c   cgroup/sock_create (tags managed workloads' sockets) and tc egress: the
 *                     second line, dropping packets of managed sockets to destinations not allowed
 *   xdp_ingress.bpf.c xdp: inbound allowlist for protected local ports
 * Program functions are named sluice_<hook>, never like their SEC() (FACTS: that fails to compile).
 */
#include "proc_track.bpf.c"
#include "egress.bpf.c"
#include "tc_egress.bpf.c"
#include "xdp_ingress.bpf.c"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
