/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_ingress.bpf.c — inbound allowlist for protected local ports (Services with
 * `inbound.onlyThroughSluice: true`), attached to the host's interfaces (never loopback, which is
 * how traffic through sluice's proxy arrives). A TCP/UDP packet to a protected (port, protocol)
 * from a source outside `inbound.allowFrom` is dropped and counted (XDP_DROPPED); from an allowed
 * source it passes (XDP_ALLOWED). Everything else passes untouched: other ports, non-IP frames,
 * VLAN-tagged frames (their VLAN device has its own program), IPv4 fragments after the first (the
 * first carries the port; without it nothing reassembles), IPv6 with extension headers.
 * One LPM lookup per packet in the active generation's ingress4/6 trie (see sluice_ingress_v4).
 * Included by sluice.bpf.c.
 */
#include "sluice_common.h"

#define SLUICE_ETH_HLEN 14

static __always_inline int ingress_verdict(void *trie, void *key)
{
	__u32 *v = trie ? bpf_map_lookup_elem(trie, key) : NULL;
	if (!v)
		return XDP_PASS;
	if (*v == SLUICE_INGRESS_ALLOW) {
		sluice_count(SLUICE_CNT_XDP_ALLOWED);
		return XDP_PASS;
	}
	sluice_count(SLUICE_CNT_XDP_DROPPED);
	return XDP_DROP;
}

SEC("xdp")
int sluice_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	__u16 ethp = eth->h_proto;
	if (ethp != bpf_htons(0x0800) && ethp != bpf_htons(0x86DD))
		return XDP_PASS;

	struct sluice_state *st = sluice_state_get();
	if (!st)
		return XDP_PASS;
	__u32 slot = *(volatile __u32 *)&st->active_slot & 1;

	if (ethp == bpf_htons(0x0800)) {
		struct iphdr *ip = data + SLUICE_ETH_HLEN;
		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		if (ip->frag_off & bpf_htons(0x1fff))
			return XDP_PASS;
		__u32 ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return XDP_PASS;
		__u16 *ports = (void *)ip + ihl;
		if ((void *)(ports + 2) > end)
			return XDP_PASS;
		struct sluice_ingress_v4 k = { .prefixlen = 64, .port = bpf_ntohs(ports[1]), .proto = ip->protocol };
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		return ingress_verdict(bpf_map_lookup_elem(&ingress4_outer, &slot), &k);
	}
	struct ipv6hdr *ip6 = data + SLUICE_ETH_HLEN;
	if ((void *)(ip6 + 1) > end)
		return XDP_PASS;
	if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
		return XDP_PASS;
	__u16 *ports = (void *)(ip6 + 1);
	if ((void *)(ports + 2) > end)
		return XDP_PASS;
	struct sluice_ingress_v6 k = { .prefixlen = 160, .port = bpf_ntohs(ports[1]), .proto = ip6->nexthdr };
	__builtin_memcpy(k.addr, &ip6->saddr, 16);
	return ingress_verdict(bpf_map_lookup_elem(&ingress6_outer, &slot), &k);
}
