/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proc_track.bpf.c — process classification follows processes (DESIGN §2 step 1).
 *
 * - fork: a new thread group created by a classified process inherits its entry (flags =
 *   INHERITED), so an agent cannot escape its allowlist by spawning curl. A new group from an
 *   unclassified parent gets no entry (any stale entry for a reused tgid is deleted).
 * - exec: the new executable's (inode, dev) and the task's new effective uid/gid are looked up in
 *   the ACTIVE generation's exe_class map (see exe_classify); a hit classifies the process
 *   (flags = EXE), a miss keeps what it had (flags = INHERITED).
 *   Every exec is reported: userspace attests (uid, sha256, cgroup, …) and may overwrite the
 *   entry (flags = REFINED). The kernel never waits for it.
 * - exit: when the whole thread group is gone (signal->live == 0) the entry is deleted.
 *
 * Keyed by tgid (not task storage) because cgroup/connect4 cannot read task storage on 6.1.
 * Included by sluice.bpf.c (one object, shared maps).
 */
#include "sluice_common.h"

static __always_inline void fill_task(struct sluice_event *e, struct task_struct *p)
{
	e->pid = BPF_CORE_READ(p, pid);
	e->tgid = BPF_CORE_READ(p, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sluice_on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_pid = BPF_CORE_READ(child, pid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	if (child_pid != child_tgid)
		return 0; /* a new thread: same thread group, same entry */

	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	struct sluice_proc *pp = bpf_map_lookup_elem(&procs, &parent_tgid);
	if (!pp) {
		/* Unclassified parent: the child is unmanaged. A stale entry (tgid reuse) must not apply. */
		bpf_map_delete_elem(&procs, &child_tgid);
		return 0;
	}
	struct sluice_proc cp = {
		.workload = pp->workload,
		.flags = SLUICE_PROC_INHERITED,
		.start_time_ns = BPF_CORE_READ(child, start_boottime),
	};
	if (bpf_map_update_elem(&procs, &child_tgid, &cp, BPF_ANY) != 0) {
		sluice_count(SLUICE_CNT_PROCS_FULL);
		return 0;
	}
	sluice_count(SLUICE_CNT_FORK_INHERITED);

	struct sluice_event *e = sluice_event_reserve(SLUICE_EV_FORK);
	if (!e)
		return 0;
	fill_task(e, child);
	e->ppid = parent_tgid;
	e->workload = cp.workload;
	e->proc_flags = cp.flags;
	struct sluice_state *st = sluice_state_get();
	if (st)
		e->generation = st->generation;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* One exe_class lookup; keeps the lowest-rank hit in *best. */
static __always_inline void exe_lookup(void *exe_class, struct sluice_exe_key *key, struct sluice_exe_class *best, bool *found)
{
	struct sluice_exe_class *v = bpf_map_lookup_elem(exe_class, key);
	if (v && (!*found || v->rank < best->rank)) {
		*best = *v;
		*found = true;
	}
}

/*
 * Every key shape a selector entry the kernel decides can have: (this inode | any executable) ×
 * (this euid | any) × (this egid | any), except (any, any, any). The lowest rank among the hits is
 * the entry identity matching would pick (userspace computed the ranks), so several workloads
 * claiming one inode, or one inode for different uids, resolve as in userspace.
 */
static __always_inline bool exe_classify(void *exe_class, __u64 ino, __u32 dev, __u32 euid, __u32 egid, struct sluice_exe_class *best)
{
	bool found = false;
	struct sluice_exe_key key = {};
	key.ino = ino;
	key.dev = dev;
	key.uid = euid;
	key.gid = egid;
	exe_lookup(exe_class, &key, best, &found);
	key.gid = SLUICE_EXE_ANY_ID;
	exe_lookup(exe_class, &key, best, &found);
	key.uid = SLUICE_EXE_ANY_ID;
	key.gid = egid;
	exe_lookup(exe_class, &key, best, &found);
	key.gid = SLUICE_EXE_ANY_ID;
	exe_lookup(exe_class, &key, best, &found);
	key.ino = 0;
	key.dev = 0;
	key.uid = euid;
	key.gid = egid;
	exe_lookup(exe_class, &key, best, &found);
	key.gid = SLUICE_EXE_ANY_ID;
	exe_lookup(exe_class, &key, best, &found);
	key.uid = SLUICE_EXE_ANY_ID;
	key.gid = egid;
	exe_lookup(exe_class, &key, best, &found);
	return found;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sluice_on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u64 ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	__u32 dev = BPF_CORE_READ(bprm, file, f_inode, i_sb, s_dev);
	/* The exec's credentials are committed by now (begin_new_exec → commit_creds): a setuid
	 * executable's new euid counts, as /proc/PID/status shows it to userspace afterwards. kuid
	 * values are the ids of the initial user namespace, where sluice reads /proc (the policy
	 * schema caps ids at 4294967294, so none is SLUICE_EXE_ANY_ID). */
	__u32 euid = BPF_CORE_READ(p, cred, euid.val);
	__u32 egid = BPF_CORE_READ(p, cred, egid.val);

	__u32 generation = 0;
	struct sluice_exe_class best = {};
	bool hit = false;
	struct sluice_state *st = sluice_state_get();
	if (st) {
		__u32 slot = st->active_slot & 1;
		generation = st->generation;
		void *exe_class = bpf_map_lookup_elem(&exe_class_outer, &slot);
		if (exe_class)
			hit = exe_classify(exe_class, ino, dev, euid, egid, &best);
	}

	struct sluice_proc *cur = bpf_map_lookup_elem(&procs, &tgid);
	__u32 workload = 0, flags = 0;
	if (hit) {
		struct sluice_proc np = {
			.workload = best.workload,
			.flags = SLUICE_PROC_EXE,
			.start_time_ns = BPF_CORE_READ(p, start_boottime),
		};
		if (bpf_map_update_elem(&procs, &tgid, &np, BPF_ANY) != 0)
			sluice_count(SLUICE_CNT_PROCS_FULL);
		else
			sluice_count(SLUICE_CNT_EXEC_CLASSIFIED);
		workload = np.workload;
		flags = np.flags;
	} else if (cur) {
		/* Keep the classification; a refinement was about the old image, so it no longer holds. */
		cur->flags = SLUICE_PROC_INHERITED;
		workload = cur->workload;
		flags = SLUICE_PROC_INHERITED;
	}

	struct sluice_event *e = sluice_event_reserve(SLUICE_EV_EXEC);
	if (!e)
		return 0;
	fill_task(e, p);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	__u64 ug = bpf_get_current_uid_gid();
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->workload = workload;
	e->proc_flags = flags;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->exe_ino = ino;
	e->exe_dev = dev;
	e->generation = generation;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sluice_on_exit, struct task_struct *p)
{
	/* Runs for every exiting thread; only the end of the whole group matters. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct sluice_proc *cur = bpf_map_lookup_elem(&procs, &tgid);
	__u32 workload = 0, flags = 0;
	if (cur) {
		workload = cur->workload;
		flags = cur->flags;
		bpf_map_delete_elem(&procs, &tgid);
	}

	struct sluice_event *e = sluice_event_reserve(SLUICE_EV_EXIT);
	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(p, pid);
	e->tgid = tgid;
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	e->workload = workload;
	e->proc_flags = flags;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
