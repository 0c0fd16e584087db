/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_common.h — what every sluice program needs: kernel types (CO-RE vmlinux.h generated at
 * build time), libbpf helpers, the shared structs and maps, and small inline helpers.
 *
 * Portability (stock Debian 12 = 6.1): cgroup programs use only map helpers, ringbuf,
 * ktime_get_ns and the get_current_{pid_tgid,uid_gid,comm,cgroup_id} helpers, all available to
 * cgroup/sock_addr programs since 5.8. No task storage, no kfuncs, no bpf_loop.
 */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define SLUICE_HAVE_KERNEL_TYPES 1
#include "sluice_maps.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline void sluice_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

/* The state in force. Callers copy active_slot once and use that copy for every outer map. */
static __always_inline struct sluice_state *sluice_state_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&state, &zero);
}

/* A zeroed event of `type` in the ring buffer, or NULL (counted as dropped). */
static __always_inline struct sluice_event *sluice_event_reserve(__u32 type)
{
	struct sluice_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		sluice_count(SLUICE_CNT_EVENTS_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

#endif /* SLUICE_COMMON_H */
