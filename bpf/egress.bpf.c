/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * egress.bpf.c — default-deny egress at connect()/sendmsg() time (DESIGN §2 step 2, kernel
 * contract "Decision"). Return 1 = allow, 0 = EPERM.
 *
 *   1. tgid → procs → workload (missing → 0 = unmanaged)
 *   2. slot = state.active_slot, read once
 *   3. cfg = workloads[slot][workload]; missing for a nonzero workload → workload 0
 *   4. ALLOW_ALL without AUDIT → allow (no rule lookup: the unmanaged fast path)
 *   5. rule = rules_v{4,6}[slot][(workload, dst)] (LPM); the first range matching (port,
 *      protocol) decides: a REDIRECT range redirects, any other allows; no range matched →
 *      allowed when all_ports_mask has the protocol (ports 1-65535, as in policy files)
 *   6. REDIRECT (TCP connect only; userspace sets it on tls intercept/upgrade Service ports of
 *      managed workloads, enforce and audit alike): store the original destination and the
 *      process facts by socket cookie (redir_cookie), rewrite the destination to the proxy
 *      (sluice_state.proxy_*), count, report a CONNECT/redirect event (original destination).
 *      No proxy configured or the record not stored → EPERM
 *      (fail closed: a redirected connection never bypasses the proxy).
 *   7. not allowed: AUDIT → allow + CONNECT/audit event; else EPERM + CONNECT/deny event
 *
 * A v4-mapped destination (::ffff:a.b.c.d) on an AF_INET6 socket is decided by the v4 trie and
 * redirected to ::ffff:proxy_ip4 (the proxy's IPv4 listener).
 * Hot path (allowed): 4–6 map lookups, no writes but a per-CPU counter, no per-socket state.
 * Per-socket state (one LRU update) only for redirected sockets.
 *
 * Also here: cgroup/getpeername4/6 (a redirected socket reports its original peer) and sockops
 * (ACTIVE_ESTABLISHED: the record is copied under the client's local port into orig_dst, which
 * the proxy reads after accept(); sockops runs in softirq, so the process facts come from
 * connect). Included by sluice.bpf.c.
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

enum { MATCH_NONE = 0, MATCH_ALLOW = 1, MATCH_REDIRECT = 2 };

/* The first matching range decides (REDIRECT ranges are first), then all_ports_mask. */
static __always_inline int rule_match(const struct sluice_rule *r, __u16 port, __u8 pbit)
{
	__u32 n = r->nranges;
	for (int i = 0; i < SLUICE_MAX_RANGES; i++) {
		if (i >= n)
			break;
		const struct sluice_port_range *pr = &r->ranges[i];
		if ((pr->proto_mask & pbit) && port >= pr->lo && port <= pr->hi)
			return (pr->flags & SLUICE_RANGE_REDIRECT) ? MATCH_REDIRECT : MATCH_ALLOW;
	}
	if ((r->all_ports_mask & pbit) && port != 0)
		return MATCH_ALLOW;
	return MATCH_NONE;
}

/* What decide() found, for the caller that carries out a redirect. */
struct sluice_decision {
	__u32 tgid;
	__u32 pid;
	__u32 workload;
	__u32 proc_flags;
	__u32 rule_id;
	__u32 generation;
	struct sluice_state *st;
};

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

/* 0 = EPERM, 1 = allow, MATCH_REDIRECT = redirect (counted and carried out by the caller). */
static __always_inline int decide(const struct sluice_dest *d, __u32 protocol, struct sluice_decision *out)
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
		int m = rule_match(r, d->port, proto_bit(protocol));
		if (m == MATCH_ALLOW) {
			sluice_count(SLUICE_CNT_ALLOWED);
			return 1;
		}
		rule_id = r->rule_id;
		if (m == MATCH_REDIRECT) {
			out->tgid = tgid;
			out->pid = (__u32)pid_tgid;
			out->workload = workload;
			out->proc_flags = proc_flags;
			out->rule_id = rule_id;
			out->generation = st->generation;
			out->st = st;
			return MATCH_REDIRECT;
		}
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

/*
 * Carries out a REDIRECT: the record first (by socket cookie), then the new destination. Only a
 * TCP connect can be redirected; anything else matching a REDIRECT range, no proxy, or a record
 * that cannot be stored → EPERM.
 */
static __always_inline int redirect_to_proxy(struct bpf_sock_addr *ctx, const struct sluice_dest *d, __u32 protocol,
					     const struct sluice_decision *dec)
{
	struct sluice_state *st = dec->st;
	if (!st)
		return 0;
	__u16 pport = st->proxy_port;
	int is_connect = d->hook == SLUICE_HOOK_CONNECT4 || d->hook == SLUICE_HOOK_CONNECT6;
	if (pport == 0 || !is_connect || protocol != IPPROTO_TCP)
		goto fail;

	struct sluice_redirect rec = {};
	if (d->family == AF_INET)
		__builtin_memcpy(rec.addr, &d->addr[0], 4);
	else if (d->v4_mapped) {
		rec.addr[10] = 0xff;
		rec.addr[11] = 0xff;
		__builtin_memcpy(&rec.addr[12], &d->addr[0], 4);
	} else
		__builtin_memcpy(rec.addr, d->addr, 16);
	rec.family = d->family;
	rec.port = d->port;
	rec.v4_mapped = d->v4_mapped;
	rec.pid = dec->tgid;
	rec.tid = dec->pid;
	__u64 ug = bpf_get_current_uid_gid();
	rec.uid = (__u32)ug;
	rec.gid = ug >> 32;
	rec.workload = dec->workload;
	rec.rule_id = dec->rule_id;
	rec.cgroup_id = bpf_get_current_cgroup_id();
	rec.ts_ns = bpf_ktime_get_ns();
	__u64 cookie = bpf_get_socket_cookie(ctx);
	if (bpf_map_update_elem(&redir_cookie, &cookie, &rec, BPF_ANY) != 0)
		goto fail;

	if (d->family == AF_INET) {
		ctx->user_ip4 = st->proxy_ip4;
	} else if (d->v4_mapped) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
		ctx->user_ip6[3] = st->proxy_ip4;
	} else {
		__u32 a[4];
		__builtin_memcpy(a, st->proxy_ip6, 16);
		ctx->user_ip6[0] = a[0];
		ctx->user_ip6[1] = a[1];
		ctx->user_ip6[2] = a[2];
		ctx->user_ip6[3] = a[3];
	}
	ctx->user_port = bpf_htons(pport);
	sluice_count(SLUICE_CNT_REDIRECTED);
	report(d, SLUICE_VERDICT_REDIRECT, dec->tgid, dec->pid, dec->workload, dec->proc_flags, dec->rule_id, protocol, dec->generation);
	return 1;
fail:
	sluice_count(SLUICE_CNT_REDIRECT_FAILED);
	report(d, SLUICE_VERDICT_DENY, dec->tgid, dec->pid, dec->workload, dec->proc_flags, dec->rule_id, protocol, dec->generation);
	return 0;
}

static __always_inline int decide_v4(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct sluice_dest d = {};
	struct sluice_decision dec = {};
	d.addr[0] = ctx->user_ip4;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.is_v4 = 1;
	d.hook = hook;
	d.family = AF_INET;
	__u32 protocol = ctx->protocol;
	int v = decide(&d, protocol, &dec);
	if (v == MATCH_REDIRECT)
		return redirect_to_proxy(ctx, &d, protocol, &dec);
	return v;
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
	struct sluice_decision dec = {};
	__u32 protocol = ctx->protocol;
	int v = decide(&d, protocol, &dec);
	if (v == MATCH_REDIRECT)
		return redirect_to_proxy(ctx, &d, protocol, &dec);
	return v;
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

/* A redirected socket reports its original peer, not the proxy. getpeername programs must return 1. */
SEC("cgroup/getpeername4")
int sluice_getpeername4(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct sluice_redirect *rec = bpf_map_lookup_elem(&redir_cookie, &cookie);
	if (rec && rec->family == AF_INET) {
		__u32 a;
		__builtin_memcpy(&a, rec->addr, 4);
		ctx->user_ip4 = a;
		ctx->user_port = bpf_htons(rec->port);
	}
	return 1;
}

SEC("cgroup/getpeername6")
int sluice_getpeername6(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct sluice_redirect *rec = bpf_map_lookup_elem(&redir_cookie, &cookie);
	if (rec && rec->family == AF_INET6) {
		__u32 a[4];
		__builtin_memcpy(a, rec->addr, 16);
		ctx->user_ip6[0] = a[0];
		ctx->user_ip6[1] = a[1];
		ctx->user_ip6[2] = a[2];
		ctx->user_ip6[3] = a[3];
		ctx->user_port = bpf_htons(rec->port);
	}
	return 1;
}

/*
 * ACTIVE_ESTABLISHED (client side, before the proxy's accept() can return): copy a redirected
 * socket's record under (family as the proxy sees it, client local port). local_port is host
 * order here. The cookie entry stays for getpeername (LRU ages it out).
 */
SEC("sockops")
int sluice_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct sluice_redirect *rec = bpf_map_lookup_elem(&redir_cookie, &cookie);
	if (!rec)
		return 1;
	struct sluice_origdst_key k = {};
	k.family = (rec->family == AF_INET || rec->v4_mapped) ? AF_INET : AF_INET6;
	k.port = (__u16)skops->local_port;
	if (bpf_map_update_elem(&orig_dst, &k, rec, BPF_ANY) != 0)
		sluice_count(SLUICE_CNT_ORIGDST_FAILED);
	return 1;
}
