/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_maps.h — every map of sluice.bpf.o, defined once. Map names are the pin names under
 * /sys/fs/bpf/sluice/ (BPF object names: at most 15 characters).
 *
 * No `pinning` attribute: the loader pins (and adopts existing pins with bpf_map__set_pin_path
 * before load), so loading the object never writes to bpffs on its own.
 *
 * Generation-switched maps are ARRAY_OF_MAPS with SLUICE_SLOTS slots. The inner definitions here
 * are templates: userspace creates each generation's inner maps with the same type, key size,
 * value size and map_flags (max_entries may differ: hash and LPM inner maps do not compare it),
 * fills them, stores them in the inactive slot, then flips sluice_state.active_slot.
 * Inner templates give key_size/value_size, not BTF types: clang 14 emits the BTF of types that
 * are only referenced from an inner map definition as forward declarations, which libbpf rejects
 * ("can't determine key size"). Userspace creates inner maps without BTF anyway.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include "sluice_shared.h"

/* tgid → classification. Only classified thread groups have an entry (no entry = workload 0). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_PROCS_MAX);
	__type(key, __u32);
	__type(value, struct sluice_proc);
} procs SEC(".maps");

/* [0] → which slot of the *_outer maps is in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_state);
} state SEC(".maps");

struct sluice_rules_v4_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sluice_lpm_v4));
	__uint(value_size, sizeof(struct sluice_rule));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_rules_v4_inner);
} rules_v4_outer SEC(".maps");

struct sluice_rules_v6_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sluice_lpm_v6));
	__uint(value_size, sizeof(struct sluice_rule));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_rules_v6_inner);
} rules_v6_outer SEC(".maps");

struct sluice_workloads_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_WORKLOADS_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct sluice_workload));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_workloads_inner);
} workloads_outer SEC(".maps");

struct sluice_exe_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_EXE_MAX);
	__uint(key_size, sizeof(struct sluice_exe_key));
	__uint(value_size, sizeof(struct sluice_exe_class));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_exe_inner);
} exe_class_outer SEC(".maps");

/* Decisions (deny/audit) and process events; see struct sluice_event. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_EVENTS_BYTES);
} events SEC(".maps");

/* enum sluice_counter → count, per CPU (userspace sums). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* socket cookie → redirect record; written by connect4/6 for redirected sockets only, read by
 * getpeername4/6 and sockops. Cookies are never reused: stale entries are harmless, LRU ages them out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_REDIRECTS_MAX);
	__type(key, __u64);
	__type(value, struct sluice_redirect);
} redir_cookie SEC(".maps");

/* (family, client local port) → redirect record; written by sockops at ACTIVE_ESTABLISHED (before
 * the proxy can accept), read by the proxy (src/kernel/original-destination.ts). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_REDIRECTS_MAX);
	__type(key, struct sluice_origdst_key);
	__type(value, struct sluice_redirect);
} orig_dst SEC(".maps");

/* Socket → workload of the process that created it (sock_create, managed workloads only; freed
 * with the socket). What TC egress ties a packet to: skb->sk of a locally generated packet. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} sock_wl SEC(".maps");

struct sluice_ingress4_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_INGRESS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sluice_ingress_v4));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_ingress4_inner);
} ingress4_outer SEC(".maps");

struct sluice_ingress6_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_INGRESS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sluice_ingress_v6));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_SLOTS);
	__type(key, __u32);
	__array(values, struct sluice_ingress6_inner);
} ingress6_outer SEC(".maps");

#endif /* SLUICE_MAPS_H */
