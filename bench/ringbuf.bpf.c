/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/ringbuf.ts's producer: a `tc` program run by BPF_PROG_TEST_RUN (repeat = batch). `emit`
 * writes one EVENT_SIZE-byte record per run into `events` (reserve failures counted in
 * stats[0]); `baseline` is the same program without the ring buffer, for the trigger's own rate.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef EVENT_SIZE
#define EVENT_SIZE 112
#endif

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps"); /* [0] dropped, [1] runs */

static __always_inline void bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc")
int emit(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&events, EVENT_SIZE, 0);
	if (!e) {
		bump(0);
		return 0;
	}
	e[0] = bpf_ktime_get_ns();
	e[1] = skb->len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tc")
int baseline(struct __sk_buff *skb)
{
	bump(1);
	return 0;
}
