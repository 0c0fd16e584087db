/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_shared.h — every struct and enum shared between the BPF programs and userspace.
 *
 * Mirrored field by field in src/kernel/layout.ts; test/unit/kernel/layout.test.ts compiles a
 * program printing sizeof/offsetof of everything here and compares (Cilium's alignchecker idea).
 * Rules (libbpf-bootstrap style): fixed-width types only (typedef'd below, no kernel headers),
 * every padding byte is an explicit field, every struct's size is asserted. Retired fields stay
 * with a comment; never reorder.
 *
 * Byte order: addresses are network order (as on the wire), ports in events are host order, every
 * other integer is host order (little-endian on every architecture sluice ships for).
 */
#ifndef SLUICE_SHARED_H
#define SLUICE_SHARED_H

#ifndef SLUICE_HAVE_KERNEL_TYPES
/* vmlinux.h (BPF side) already defines these; userspace and the layout test take them from here. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif

/* ---- limits ---------------------------------------------------------------------------------- */

enum sluice_limits {
	SLUICE_MAX_RANGES = 16,     /* port ranges in one rule value (after push-down) */
	SLUICE_SLOTS = 2,           /* generation slots of every *_outer map */
	SLUICE_PROCS_MAX = 65536,   /* classified thread groups tracked at once */
	SLUICE_RULES_MAX = 65536,   /* inner LPM trie capacity (template; userspace may size its own) */
	SLUICE_WORKLOADS_MAX = 4096,/* inner workloads hash capacity (template) */
	SLUICE_EXE_MAX = 4096,      /* inner exe_class hash capacity (template) */
	SLUICE_COMM_LEN = 16,       /* TASK_COMM_LEN */
	SLUICE_EVENTS_BYTES = 1 << 20, /* ring buffer size */
	SLUICE_REDIRECTS_MAX = 65536,  /* redir_cookie / orig_dst (LRU) capacity */
	SLUICE_INGRESS_MAX = 16384,    /* inner ingress LPM capacity (template) */
};

/* ---- process classification (map `procs`, key: __u32 tgid) ----------------------------------- */

enum sluice_proc_flags {
	SLUICE_PROC_INHERITED = 1, /* copied from the parent at fork, or kept across an exec that matched nothing */
	SLUICE_PROC_EXE = 2,       /* set at exec from the active generation's exe_class map */
	SLUICE_PROC_REFINED = 4,   /* written by userspace after full attestation */
};

struct sluice_proc {
	__u32 workload;      /* workload id (0 = unmanaged; entries with 0 are allowed but pointless) */
	__u32 flags;         /* enum sluice_proc_flags */
	__u64 start_time_ns; /* task->start_boottime of the group leader (ns since boot, incl. suspend) */
};
_Static_assert(sizeof(struct sluice_proc) == 16, "sluice_proc size");

/* ---- generation switch (map `state`, ARRAY[1]) ------------------------------------------------ */

struct sluice_state {
	__u32 active_slot;   /* 0 or 1: the slot of every *_outer map the programs use; read once per call */
	__u32 generation;    /* PolicySnapshot generation in force (informational, copied into events) */
	__u64 applied_at_ns; /* CLOCK_MONOTONIC ns when userspace flipped active_slot (informational) */
	/* The proxy's loopback listener, where REDIRECT ranges send TCP connects (written with each
	 * generation). proxy_port 0 = no proxy: a REDIRECT match is denied (fail closed, never bypassed). */
	__u32 proxy_ip4;     /* IPv4 address, network order (AF_INET sockets and v4-mapped destinations) */
	__u16 proxy_port;    /* host order */
	__u16 pad;           /* zero */
	__u8 proxy_ip6[16];  /* IPv6 address, network order (AF_INET6 sockets, native IPv6 destinations) */
};
_Static_assert(sizeof(struct sluice_state) == 40, "sluice_state size");

/* ---- egress rules (inner LPM tries of rules_v4_outer / rules_v6_outer) ------------------------ */

enum sluice_proto_mask {
	SLUICE_PROTO_TCP = 1,
	SLUICE_PROTO_UDP = 2,
	SLUICE_PROTO_OTHER = 4, /* any other IP protocol (e.g. ICMP ping sockets); only `protocol: any` rules carry it */
};

/* LPM key: the workload is part of the key, so prefixlen = 32 (workload bits) + address prefix bits. */
struct sluice_lpm_v4 {
	__u32 prefixlen; /* 32 + IPv4 prefix length (32..64) */
	__u32 workload;  /* workload id, host order (always fully matched, so byte order does not matter) */
	__u8 addr[4];    /* IPv4 address, network order */
};
_Static_assert(sizeof(struct sluice_lpm_v4) == 12, "sluice_lpm_v4 size");

struct sluice_lpm_v6 {
	__u32 prefixlen; /* 32 + IPv6 prefix length (32..160) */
	__u32 workload;  /* workload id, host order */
	__u8 addr[16];   /* IPv6 address, network order (v4-mapped destinations are looked up in the v4 trie) */
};
_Static_assert(sizeof(struct sluice_lpm_v6) == 24, "sluice_lpm_v6 size");

enum sluice_range_flags {
	SLUICE_RANGE_REDIRECT = 1, /* a matching TCP connect goes to the proxy (sluice_state.proxy_*) instead */
};

struct sluice_port_range {
	__u16 lo;         /* first port, host order, inclusive */
	__u16 hi;         /* last port, host order, inclusive */
	__u8 proto_mask;  /* enum sluice_proto_mask: protocols this range allows */
	__u8 flags;       /* enum sluice_range_flags */
	__u8 pad[2];      /* zero */
};
_Static_assert(sizeof(struct sluice_port_range) == 8, "sluice_port_range size");

/*
 * One LPM entry's value. The trie returns only the longest matching prefix, so userspace pushes
 * down: the value is the union of the ranges of this prefix's own rules and of every shorter
 * prefix of the same workload covering it. More than SLUICE_MAX_RANGES after the union: the
 * snapshot is refused in userspace (never widened).
 * Match order: ranges[] first, in order, the first matching range decides (REDIRECT ranges come
 * first, so a Service port stays redirected even where a broader rule allows it); then
 * all_ports_mask.
 */
struct sluice_rule {
	__u32 rule_id;          /* informational: the most specific rule behind this entry (userspace rule table), 0 none */
	__u8 nranges;           /* ranges[] in use (0..SLUICE_MAX_RANGES) */
	__u8 all_ports_mask;    /* enum sluice_proto_mask allowed on every port 1-65535 (checked before ranges) */
	__u16 pad;              /* zero */
	struct sluice_port_range ranges[SLUICE_MAX_RANGES]; /* allowed (port range, protocols); unused entries zero */
};
_Static_assert(sizeof(struct sluice_rule) == 8 + 8 * SLUICE_MAX_RANGES, "sluice_rule size");

/* ---- workloads (inner hash of workloads_outer, key: __u32 workload id) ------------------------ */

enum sluice_workload_flags {
	SLUICE_WL_MANAGED = 1,   /* a WorkloadIdentity (never set on workload 0) */
	SLUICE_WL_AUDIT = 2,     /* not allowed → allow and report (enforcement: audit; unmanaged: audit) */
	SLUICE_WL_ALLOW_ALL = 4, /* unmanaged: allow / audit; without AUDIT the rules are not even looked up */
};

struct sluice_workload {
	__u32 flags;    /* enum sluice_workload_flags */
	__u32 reserved; /* zero */
};
_Static_assert(sizeof(struct sluice_workload) == 8, "sluice_workload size");

/* ---- exec-time classification (inner hash of exe_class_outer) ------------------------------- */

/*
 * A selector entry the kernel decides alone at exec: executable (inode, dev) and/or the task's
 * EFFECTIVE uid and gid after the exec (cred->euid/egid, what `process:uid`/`process:gid` match in
 * userspace). A key field the entry does not constrain holds the wildcard: ino = 0 and dev = 0 for
 * "any executable" (uid/gid-only entries), SLUICE_EXE_ANY_ID for uid/gid. At exec the program looks
 * up every combination of (this inode | any) × (this euid | any) × (this egid | any) but
 * (any, any, any), and the hit with the lowest rank wins.
 */
#define SLUICE_EXE_ANY_ID 0xffffffffu /* (uid_t)-1 is never a valid id */

struct sluice_exe_key {
	__u64 ino; /* inode number of the executable (bprm->file->f_inode->i_ino); 0 = any */
	__u32 dev; /* kernel dev_t of its filesystem (i_sb->s_dev: major << 20 | minor, NOT stat's st_dev encoding); 0 = any */
	__u32 uid; /* effective uid after exec, or SLUICE_EXE_ANY_ID */
	__u32 gid; /* effective gid after exec, or SLUICE_EXE_ANY_ID */
	__u32 pad; /* zero */
};
_Static_assert(sizeof(struct sluice_exe_key) == 24, "sluice_exe_key size");

struct sluice_exe_class {
	__u32 workload; /* workload id the process becomes */
	__u32 rank;     /* lower wins among several hits: identity matching's order (more strong keys, more keys, smallest SPIFFE ID), computed by userspace */
};
_Static_assert(sizeof(struct sluice_exe_class) == 8, "sluice_exe_class size");

/* ---- per-CPU counters (map `counters`, PERCPU_ARRAY of __u64, index enum sluice_counter) ------ */

enum sluice_counter {
	SLUICE_CNT_ALLOWED = 0,        /* connect/sendmsg allowed by a rule or ALLOW_ALL */
	SLUICE_CNT_DENIED = 1,         /* refused with EPERM */
	SLUICE_CNT_AUDITED = 2,        /* not allowed, let through under audit */
	SLUICE_CNT_EVENTS_DROPPED = 3, /* ring buffer full: an event was lost */
	SLUICE_CNT_NO_POLICY = 4,      /* no workloads map / no entry for workload 0 in the active slot: allowed (unmanaged) */
	SLUICE_CNT_PROCS_FULL = 5,     /* `procs` update failed (full): a child could not inherit its classification */
	SLUICE_CNT_EXEC_CLASSIFIED = 6,/* exec matched exe_class (by inode and/or effective uid/gid) */
	SLUICE_CNT_FORK_INHERITED = 7, /* fork copied a classification */
	SLUICE_CNT_REDIRECTED = 8,     /* TCP connect rewritten to the proxy (REDIRECT range) */
	SLUICE_CNT_REDIRECT_FAILED = 9,/* REDIRECT match refused: no proxy configured, or the per-socket record could not be stored */
	SLUICE_CNT_ORIGDST_FAILED = 10,/* sockops could not store the original destination by local port (orig_dst update failed) */
	SLUICE_CNT_TC_DROPPED = 11,    /* TC egress: a packet of a managed workload's socket to a destination not allowed, dropped */
	SLUICE_CNT_TC_AUDITED = 12,    /* TC egress: such a packet of an audit-mode workload, let through */
	SLUICE_CNT_XDP_DROPPED = 13,   /* XDP ingress: a packet to a protected local port from a source not allowed, dropped */
	SLUICE_CNT_XDP_ALLOWED = 14,   /* XDP ingress: a packet to a protected local port from an allowed source */
	SLUICE_CNT_SOCK_TAG_FAILED = 15,/* sock_create could not tag a managed workload's socket: socket() refused (EPERM) */
	SLUICE_CNT_MAX = 16,           /* array size (room to grow without changing the map) */
};

/* ---- events (map `events`, RINGBUF) ----------------------------------------------------------- */

enum sluice_event_type {
	SLUICE_EV_CONNECT = 1, /* a deny, audit or redirect decision (allowed connects are only counted) */
	SLUICE_EV_EXEC = 2,    /* every exec on the host: userspace attests and refines */
	SLUICE_EV_EXIT = 3,    /* a whole thread group ended */
	SLUICE_EV_FORK = 4,    /* a classified process created a new process that inherited its classification */
};

enum sluice_verdict {
	SLUICE_VERDICT_ALLOW = 1,
	SLUICE_VERDICT_DENY = 2,
	SLUICE_VERDICT_AUDIT = 3,
	SLUICE_VERDICT_REDIRECT = 4, /* a TCP connect sent to the proxy (addr/dport: the original destination); also counted */
};

enum sluice_event_hook {
	SLUICE_HOOK_NONE = 0,
	SLUICE_HOOK_CONNECT4 = 1,
	SLUICE_HOOK_CONNECT6 = 2,
	SLUICE_HOOK_SENDMSG4 = 3,
	SLUICE_HOOK_SENDMSG6 = 4,
};

struct sluice_event {
	__u32 type;        /* enum sluice_event_type */
	__u32 verdict;     /* CONNECT: enum sluice_verdict; others 0 */
	__u32 pid;         /* thread id of the task */
	__u32 tgid;        /* process id */
	__u32 ppid;        /* EXEC/FORK: parent's tgid; CONNECT/EXIT: 0 (not readable portably from cgroup hooks) */
	__u32 uid;         /* current uid (CONNECT/EXEC: of the task; FORK/EXIT: 0) */
	__u32 gid;         /* current gid (as uid) */
	__u32 workload;    /* workload id used for the decision / the new classification */
	__u32 rule_id;     /* CONNECT: rule_id of the LPM entry the address matched (port/proto did not), 0 none */
	__u16 family;      /* CONNECT: AF_INET (2) or AF_INET6 (10); others 0 */
	__u16 dport;       /* CONNECT: destination port, host order */
	__u8 proto;        /* CONNECT: IP protocol number (6 TCP, 17 UDP, …) */
	__u8 hook;         /* CONNECT: enum sluice_event_hook */
	__u8 pad[2];       /* zero */
	__u32 proc_flags;  /* the procs entry's flags (enum sluice_proc_flags) at the time, 0 if none */
	__u64 cgroup_id;   /* cgroup v2 id of the current task (CONNECT/EXEC), 0 otherwise */
	__u64 ts_ns;       /* CLOCK_MONOTONIC ns */
	__u64 exe_ino;     /* EXEC: inode of the new executable */
	__u32 exe_dev;     /* EXEC: kernel dev_t of its filesystem (see sluice_exe_key.dev) */
	__u32 generation;  /* sluice_state.generation in force */
	__u8 addr[16];     /* CONNECT: destination, network order (IPv4: first 4 bytes; v4-mapped kept as IPv6) */
	char comm[16];     /* task comm (CONNECT/EXEC: after exec; FORK: the child's; EXIT: the leader's) */
};
_Static_assert(sizeof(struct sluice_event) == 112, "sluice_event size");

/* ---- redirected sockets (maps `redir_cookie` and `orig_dst`, LRU hashes) ---------------------- */

/*
 * What connect4/6 knew when it redirected a socket: the original destination and the process
 * facts (sockops runs in softirq, so they are taken in connect). Stored by socket cookie
 * (redir_cookie: getpeername4/6 answers from it) and, once sockops sees ACTIVE_ESTABLISHED,
 * copied under the client's local port (orig_dst: what the proxy looks up after accept()).
 */
struct sluice_redirect {
	__u8 addr[16];     /* original destination, network order (IPv4: first 4 bytes; v4-mapped: ::ffff:a.b.c.d) */
	__u16 family;      /* the client socket's family: AF_INET or AF_INET6 */
	__u16 port;        /* original destination port, host order */
	__u8 v4_mapped;    /* AF_INET6 socket to a v4-mapped address: redirected to ::ffff:proxy_ip4 (the proxy sees IPv4) */
	__u8 pad[3];       /* zero */
	__u32 pid;         /* tgid of the connecting process */
	__u32 tid;         /* thread id */
	__u32 uid;
	__u32 gid;
	__u32 workload;    /* workload id used for the decision */
	__u32 rule_id;     /* rule_id of the LPM entry that redirected */
	__u64 cgroup_id;   /* cgroup v2 id of the connecting task */
	__u64 ts_ns;       /* CLOCK_MONOTONIC ns of the connect */
};
_Static_assert(sizeof(struct sluice_redirect) == 64, "sluice_redirect size");

/* orig_dst key: the redirected connection as the proxy sees it after accept(). */
struct sluice_origdst_key {
	__u16 family;      /* AF_INET (also v4-mapped clients) or AF_INET6: the accepted socket's peer family */
	__u16 port;        /* the client's local port, host order = the accepted socket's remote port */
};
_Static_assert(sizeof(struct sluice_origdst_key) == 4, "sluice_origdst_key size");

/* ---- XDP ingress allowlist (inner LPM tries of ingress4_outer / ingress6_outer) -------------- */

/*
 * Protected local ports (Services with `inbound.onlyThroughSluice`): the key is (port, protocol,
 * source prefix). One entry per protected (port, protocol) with no source bits (prefixlen 32)
 * carries PROTECTED; each allowed source block (`inbound.allowFrom`) carries ALLOW. A lookup with
 * the full source address finds the longest match: nothing = not protected (pass), PROTECTED =
 * drop, ALLOW = pass. Traffic through sluice arrives over loopback, where no XDP program runs.
 */
enum sluice_ingress_verdict {
	SLUICE_INGRESS_PROTECTED = 1, /* (port, protocol) is protected: a source with no longer match is dropped */
	SLUICE_INGRESS_ALLOW = 2,     /* this source block may reach the port directly */
};

struct sluice_ingress_v4 {
	__u32 prefixlen; /* 32 (port, proto, pad) + source prefix length (0..32) */
	__u16 port;      /* local (destination) port, host order (always fully matched) */
	__u8 proto;      /* IP protocol number: 6 TCP or 17 UDP */
	__u8 pad;        /* zero */
	__u8 addr[4];    /* source address, network order */
};
_Static_assert(sizeof(struct sluice_ingress_v4) == 12, "sluice_ingress_v4 size");

struct sluice_ingress_v6 {
	__u32 prefixlen; /* 32 + source prefix length (0..128) */
	__u16 port;      /* host order */
	__u8 proto;
	__u8 pad;        /* zero */
	__u8 addr[16];   /* source address, network order */
};
_Static_assert(sizeof(struct sluice_ingress_v6) == 24, "sluice_ingress_v6 size");

#endif /* SLUICE_SHARED_H */
