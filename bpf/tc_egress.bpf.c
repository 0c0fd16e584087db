/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tc_egress.bpf.c — the second line behind connect4/6 and sendmsg4/6: packets of a managed
 * workload's sockets leaving through a host interface to a destination its rules do not allow
 * are dropped and counted. It catches what never went through connect()/sendmsg() decisions:
 * raw sockets (ICMP, IP_HDRINCL), sockets whose connect was decided under an older policy, and
 * anything else that bypassed the cgroup hooks. Included by sluice.bpf.c after egress.bpf.c
 * (shares lookup_rule, rule_match, proto_bit).
 *
 *   cgroup/sock_create  the creating process's workload (procs, by tgid) is stored in the
 *                       socket's local storage (sock_wl) — managed workloads only: an unmanaged
 *                       process costs one hash lookup per socket() and no write. Storage that
 *                       cannot be created refuses the socket (fail closed).
 *   tc (egress)         skb->sk → full socket → sock_wl → the workload's rules in the active
 *                       generation, decided like connect: (workload, destination) LPM, then the
 *                       (port, protocol) ranges. REDIRECT ranges do NOT allow here: a packet
 *                       going straight to an intercepted Service bypassed the proxy.
 *                       Not allowed: audit → pass + TC_AUDITED; else drop + TC_DROPPED.
 *
 * Passed untouched: packets without a socket (forwarded), request/timewait sockets (SYN-ACK,
 * RST of a closed connection), listening sockets, sockets of unmanaged processes. Non-TCP/UDP
 * packets, IPv6 extension headers and IPv4 fragments after the first are allowed only when the
 * destination's entry allows the protocol on every port (they carry no port to match).
 */
#include "sluice_common.h"

#define SLUICE_TC_ACT_OK 0
#define SLUICE_TC_ACT_SHOT 2
#define SLUICE_ETH_P_IP 0x0800
#define SLUICE_ETH_P_IPV6 0x86DD
#define SLUICE_TCP_LISTEN 10

SEC("cgroup/sock_create")
int sluice_sock_create(struct bpf_sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sluice_proc *proc = bpf_map_lookup_elem(&procs, &tgid);
	if (!proc)
		return 1;
	__u32 workload = proc->workload;
	if (workload == 0)
		return 1;
	__u32 *tag = bpf_sk_storage_get(&sock_wl, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!tag) {
		sluice_count(SLUICE_CNT_SOCK_TAG_FAILED);
		return 0;
	}
	*tag = workload;
	return 1;
}

/* Whether the entry allows `pbit` to the destination without looking at a port. */
static __always_inline int rule_allows_portless(const struct sluice_rule *r, __u8 pbit)
{
	return (r->all_ports_mask & pbit) != 0;
}

SEC("tc")
int sluice_tc_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return SLUICE_TC_ACT_OK;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->state == SLUICE_TCP_LISTEN)
		return SLUICE_TC_ACT_OK;
	__u32 *tag = bpf_sk_storage_get(&sock_wl, sk, 0, 0);
	if (!tag)
		return SLUICE_TC_ACT_OK;
	__u32 workload = *tag;

	struct sluice_dest d = {};
	__u32 protocol;
	int portless = 0;
	if (skb->protocol == bpf_htons(SLUICE_ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			goto drop;
		d.addr[0] = ip.daddr;
		d.is_v4 = 1;
		d.family = AF_INET;
		protocol = ip.protocol;
		if (ip.frag_off & bpf_htons(0x1fff))
			portless = 1;
		else if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
			__u16 ports[2];
			if (bpf_skb_load_bytes_relative(skb, ip.ihl * 4, ports, sizeof(ports), BPF_HDR_START_NET))
				goto drop;
			d.port = bpf_ntohs(ports[1]);
		} else
			portless = 1;
	} else if (skb->protocol == bpf_htons(SLUICE_ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET))
			goto drop;
		__builtin_memcpy(d.addr, &ip6.daddr, 16);
		d.family = AF_INET6;
		protocol = ip6.nexthdr;
		if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
			__u16 ports[2];
			if (bpf_skb_load_bytes_relative(skb, sizeof(ip6), ports, sizeof(ports), BPF_HDR_START_NET))
				goto drop;
			d.port = bpf_ntohs(ports[1]);
		} else
			portless = 1;
	} else {
		/* ARP and other non-IP frames carry no socket of an inet workload; a tagged one is not ours to judge. */
		return SLUICE_TC_ACT_OK;
	}

	struct sluice_state *st = sluice_state_get();
	if (!st)
		return SLUICE_TC_ACT_OK; /* cannot happen: ARRAY[1] */
	__u32 slot = *(volatile __u32 *)&st->active_slot & 1;
	void *wls = bpf_map_lookup_elem(&workloads_outer, &slot);
	struct sluice_workload *cfg = NULL;
	if (wls) {
		cfg = bpf_map_lookup_elem(wls, &workload);
		if (!cfg) {
			workload = 0; /* a workload that left the policy is unmanaged */
			cfg = bpf_map_lookup_elem(wls, &workload);
		}
	}
	if (!cfg)
		goto drop; /* no policy in force: a classified socket does not talk (as connect) */
	__u32 flags = cfg->flags;
	if ((flags & (SLUICE_WL_ALLOW_ALL | SLUICE_WL_AUDIT)) == SLUICE_WL_ALLOW_ALL)
		return SLUICE_TC_ACT_OK;

	struct sluice_rule *r = lookup_rule(slot, workload, &d);
	if (r) {
		__u8 pbit = proto_bit(protocol);
		if (portless ? rule_allows_portless(r, pbit) : rule_match(r, d.port, pbit) == MATCH_ALLOW)
			return SLUICE_TC_ACT_OK;
	}
	if (flags & SLUICE_WL_AUDIT) {
		sluice_count(SLUICE_CNT_TC_AUDITED);
		return SLUICE_TC_ACT_OK;
	}
drop:
	sluice_count(SLUICE_CNT_TC_DROPPED);
	return SLUICE_TC_ACT_SHOT;
}
