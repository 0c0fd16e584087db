/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * egress.bpf.c — default-deny egress at connect()/sendmsg() time (DESIGN §2 step 2, kernel
 * contract "Decision"). Return 1 = allow, 0 = EPERM.
 *
 *   1. tgid → procs → workload (missing → 0 = unmanaged)
 *   2. slot = state.active_slot, read once
 *   3. cfg = workloads[slot][workload]; missing for a nonzero workload → workload 0
 *   4. ALLOW_ALL without AUDIT → allow (no rule lookup: the unmanaged fast path)
 *   5. rule = rules_v{4,6}[slot][(workload, dst)] (LPM); allowed when all_ports_mask (ports
 *      1-65535, as in policy files) or a range matches (port, protocol)
 *   6. not allowed: AUDIT → allow + CONNECT/audit event; else EPERM + CONNECT/deny event
 *
 * A v4-mapped destination (::ffff:a.b.c.d) on an AF_INET6 socket is decided by the v4 trie.
 * Hot path (allowed): 4–6 map lookups, no writes but a per-CPU counter, no per-socket state.
 * Included by sluice.bpf.c.
 */
#include "sluice_common.h"

#ifndef IPPROTO_TCP
#define IPPROTO_TCP 6
#endif
#ifndef IPPROTO_UDP
#define IPPROTO_UDP 17
#endif

struct sluice_dest {
	__u32 addr[4];   /* network order; IPv4 (incl. v4-mapped) in addr[0] */
	__u16 port;      /* host order */
	__u8 is_v4;      /* look up the v4 trie */
	__u8 hook;       /* enum sluice_event_hook */
	__u16 family;    /* the socket's address family, for the event */
	__u8 v4_mapped;  /* family AF_INET6 with a v4-mapped address */
	__u8 _pad;
};

static __always_inline __u8 proto_bit(__u32 protocol)
{
	if (protocol == IPPROTO_TCP)
		return SLUICE_PROTO_TCP;
	if (protocol == IPPROTO_UDP)
		return SLUICE_PROTO_UDP;
	return SLUICE_PROTO_OTHER;
}

static __always_inline int rule_allows(const struct sluice_rule *r, __u16 port, __u8 pbit)
{
	if ((r->all_ports_mask & pbit) && port != 0)
		return 1;
	__u32 n = r->nranges;
	for (int i = 0; i < SLUICE_MAX_RANGES; i++) {
		if (i >= n)
			break;
		const struct sluice_port_range *pr = &r->ranges[i];
		if ((pr->proto_mask & pbit) && port >= pr->lo && port <= pr->hi)
			return 1;
	}
	return 0;
}

static __always_inline struct sluice_rule *lookup_rule(__u32 slot, __u32 workload, const struct sluice_dest *d)
{
	if (d->is_v4) {
		void *trie = bpf_map_lookup_elem(&rules_v4_outer, &slot);
		if (!trie)
			return NULL;
		struct sluice_lpm_v4 k = { .prefixlen = 64, .workload = workload };
		__builtin_memcpy(k.addr, &d->addr[0], 4);
		return bpf_map_lookup_elem(trie, &k);
	}
	void *trie = bpf_map_lookup_elem(&rules_v6_outer, &slot);
	if (!trie)
		return NULL;
	struct sluice_lpm_v6 k = { .prefixlen = 160, .workload = workload };
	__builtin_memcpy(k.addr, d->addr, 16);
	return bpf_map_lookup_elem(trie, &k);
}

static __always_inline void report(const struct sluice_dest *d, __u32 verdict, __u32 tgid, __u32 pid,
				   __u32 workload, __u32 proc_flags, __u32 rule_id, __u32 protocol, __u32 generation)
{
	struct sluice_event *e = sluice_event_reserve(SLUICE_EV_CONNECT);
	if (!e)
		return;
	e->verdict = verdict;
	e->pid = pid;
	e->tgid = tgid;
	__u64 ug = bpf_get_current_uid_gid();
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->workload = workload;
	e->rule_id = rule_id;
	e->family = d->family;
	e->dport = d->port;
	e->proto = protocol;
	e->hook = d->hook;
	e->proc_flags = proc_flags;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->generation = generation;
	if (d->family == AF_INET)
		__builtin_memcpy(e->addr, &d->addr[0], 4);
	else if (d->v4_mapped) {
		e->addr[10] = 0xff;
		e->addr[11] = 0xff;
		__builtin_memcpy(&e->addr[12], &d->addr[0], 4);
	} else
		__builtin_memcpy(e->addr, d->addr, 16);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int decide(const struct sluice_dest *d, __u32 protocol)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct sluice_proc *proc = bpf_map_lookup_elem(&procs, &tgid);
	__u32 workload = 0, proc_flags = 0;
	if (proc) {
		workload = proc->workload;
		proc_flags = proc->flags;
	}

	struct sluice_state *st = sluice_state_get();
	if (!st)
		return 1; /* cannot happen: ARRAY[1] */
	__u32 slot = *(volatile __u32 *)&st->active_slot & 1;

	void *wls = bpf_map_lookup_elem(&workloads_outer, &slot);
	struct sluice_workload *cfg = NULL;
	if (wls) {
		cfg = bpf_map_lookup_elem(wls, &workload);
		if (!cfg && workload != 0) {
			workload = 0; /* a workload that left the policy is unmanaged */
			cfg = bpf_map_lookup_elem(wls, &workload);
		}
	}
	if (!cfg) {
		/* No policy in force for this slot. Unmanaged traffic flows; a classified process does not. */
		if (workload != 0) {
			sluice_count(SLUICE_CNT_DENIED);
			report(d, SLUICE_VERDICT_DENY, tgid, (__u32)pid_tgid, workload, proc_flags, 0, protocol, 0);
			return 0;
		}
		sluice_count(SLUICE_CNT_NO_POLICY);
		return 1;
	}
	__u32 flags = cfg->flags;
	if ((flags & (SLUICE_WL_ALLOW_ALL | SLUICE_WL_AUDIT)) == SLUICE_WL_ALLOW_ALL) {
		sluice_count(SLUICE_CNT_ALLOWED);
		return 1;
	}

	__u32 rule_id = 0;
	struct sluice_rule *r = lookup_rule(slot, workload, d);
	if (r) {
		if (rule_allows(r, d->port, proto_bit(protocol))) {
			sluice_count(SLUICE_CNT_ALLOWED);
			return 1;
		}
		rule_id = r->rule_id;
	}
	__u32 generation = st->generation;
	if (flags & SLUICE_WL_AUDIT) {
		sluice_count(SLUICE_CNT_AUDITED);
		report(d, SLUICE_VERDICT_AUDIT, tgid, (__u32)pid_tgid, workload, proc_flags, rule_id, protocol, generation);
		return 1;
	}
	sluice_count(SLUICE_CNT_DENIED);
	report(d, SLUICE_VERDICT_DENY, tgid, (__u32)pid_tgid, workload, proc_flags, rule_id, protocol, generation);
	return 0;
}

static __always_inline int decide_v4(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct sluice_dest d = {};
	d.addr[0] = ctx->user_ip4;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.is_v4 = 1;
	d.hook = hook;
	d.family = AF_INET;
	return decide(&d, ctx->protocol);
}

static __always_inline int decide_v6(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct sluice_dest d = {};
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.hook = hook;
	d.family = AF_INET6;
	if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0x0000ffff)) {
		d.addr[0] = a3;
		d.is_v4 = 1;
		d.v4_mapped = 1;
	} else {
		d.addr[0] = a0;
		d.addr[1] = a1;
		d.addr[2] = a2;
		d.addr[3] = a3;
	}
	return decide(&d, ctx->protocol);
}

SEC("cgroup/connect4")
int sluice_connect4(struct bpf_sock_addr *ctx)
{
	return decide_v4(ctx, SLUICE_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int sluice_connect6(struct bpf_sock_addr *ctx)
{
	return decide_v6(ctx, SLUICE_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg4")
int sluice_sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide_v4(ctx, SLUICE_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int sluice_sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide_v6(ctx, SLUICE_HOOK_SENDMSG6);
}
