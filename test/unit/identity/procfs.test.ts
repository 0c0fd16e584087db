/** proc(5) parsers: the awkward inputs a hostile or unusual process can produce. */
import { describe, expect, test } from "bun:test";
import { parseCgroup, parseCmdline, parseMountinfo, parseStat, parseStatus, unescapeOctal } from "../../../src/identity/procfs.ts";
import { cgroupDirectory, findCgroupV2Mount } from "../../../src/identity/index.ts";

const STAT_TAIL = "S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

describe("/proc/PID/stat", () => {
  test("plain comm", () => {
    expect(parseStat(`4242 (sleep) ${STAT_TAIL}\n`)).toEqual({ comm: "sleep", state: "S", ppid: 1, flags: 4194560, startTime: 987654 });
  });

  test("comm with spaces and parentheses ends at the last ')'", () => {
    const s = parseStat(`4242 (a) (b c) ) ${STAT_TAIL}`);
    expect(s?.comm).toBe("a) (b c) ");
    expect(s?.startTime).toBe(987654);
    expect(s?.ppid).toBe(1);
  });

  test("comm that fakes the following fields", () => {
    // A process named ") R 1 1 1" must not shift the fields.
    const s = parseStat(`4242 () R 1 1 1) ${STAT_TAIL}`);
    expect(s?.comm).toBe(") R 1 1 1");
    expect(s?.state).toBe("S");
    expect(s?.startTime).toBe(987654);
  });

  test("comm with a newline", () => {
    expect(parseStat(`4242 (x\ny) ${STAT_TAIL}`)?.comm).toBe("x\ny");
  });

  test("malformed input is rejected, not guessed", () => {
    expect(parseStat("")).toBeUndefined();
    expect(parseStat("4242 sleep S 1")).toBeUndefined();
    expect(parseStat("4242 (sleep) S 1 2")).toBeUndefined();
    expect(parseStat(`4242 (sleep) ${STAT_TAIL.replace("987654", "x")}`)).toBeUndefined();
  });
});

describe("/proc/PID/status", () => {
  const status = (groups: string) =>
    `Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\nFDSize:\t64\nGroups:\t${groups}\n`;

  test("real/effective/saved/fs ids and supplementary groups", () => {
    expect(parseStatus(status("27 100 "))).toEqual({
      tgid: 4242,
      uid: { real: 1000, effective: 1001, saved: 1002, fs: 1003 },
      gid: { real: 100, effective: 101, saved: 102, fs: 103 },
      groups: [27, 100],
    });
  });

  test("empty Groups line", () => {
    expect(parseStatus(status(""))?.groups).toEqual([]);
  });

  test("missing lines are an error", () => {
    expect(parseStatus("Tgid:\t1\n")).toBeUndefined();
    expect(parseStatus(status("x"))).toBeUndefined();
  });
});

describe("/proc/PID/cgroup", () => {
  test("hybrid layout: v2 line next to v1 hierarchies", () => {
    const c = parseCgroup("9:name=systemd:/user.slice/session-2.scope\n4:memory:/process_api/5c44\n1:cpu,cpuacct:/\n0::/user.slice/session-2.scope\n");
    expect(c.v2).toBe("/user.slice/session-2.scope");
    expect(c.v1.get("name=systemd")).toBe("/user.slice/session-2.scope");
    expect(c.v1.get("cpu,cpuacct")).toBe("/");
  });

  test("pure v2 and a path containing ':'", () => {
    expect(parseCgroup("0::/a:b/c\n").v2).toBe("/a:b/c");
  });

  test("pure v1: no v2 path", () => {
    expect(parseCgroup("1:name=systemd:/system.slice/x.service\n").v2).toBeUndefined();
  });
});

describe("/proc/PID/cmdline", () => {
  const b = (s: string) => new TextEncoder().encode(s);
  test("NUL-separated and NUL-terminated", () => {
    expect(parseCmdline(b("node\0/srv/a b.js\0--x\0"))).toEqual(["node", "/srv/a b.js", "--x"]);
  });
  test("empty arguments are kept", () => {
    expect(parseCmdline(b("a\0\0b\0"))).toEqual(["a", "", "b"]);
  });
  test("rewritten argv without trailing NUL", () => {
    expect(parseCmdline(b("nginx: worker process"))).toEqual(["nginx: worker process"]);
  });
  test("kernel thread / zombie: empty", () => {
    expect(parseCmdline(new Uint8Array())).toEqual([]);
  });
});

describe("mountinfo and the cgroup v2 mount", () => {
  const HYBRID = [
    "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    "30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755",
    "31 30 0:27 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory",
    "40 30 0:35 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw",
    "41 22 0:36 / /mnt/with\\040space rw - ext4 /dev/x rw",
  ].join("\n");

  test("finds cgroup2 wherever it is mounted (hybrid: unified)", () => {
    expect(findCgroupV2Mount(HYBRID)).toEqual({ mountPoint: "/sys/fs/cgroup/unified", root: "/" });
    expect(findCgroupV2Mount("22 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw")).toEqual({ mountPoint: "/sys/fs/cgroup", root: "/" });
    expect(findCgroupV2Mount(HYBRID.split("\n").slice(0, 3).join("\n"))).toBeUndefined();
  });

  test("octal escapes in mount points", () => {
    expect(parseMountinfo(HYBRID).at(-1)?.mountPoint).toBe("/mnt/with space");
    expect(unescapeOctal("a\\011b\\134c")).toBe("a\tb\\c");
  });

  test("cgroup directory under a mount, including a namespaced root", () => {
    const m = { mountPoint: "/sys/fs/cgroup/unified", root: "/" };
    expect(cgroupDirectory(m, "/")).toBe("/sys/fs/cgroup/unified");
    expect(cgroupDirectory(m, "/a/b")).toBe("/sys/fs/cgroup/unified/a/b");
    const ns = { mountPoint: "/sys/fs/cgroup", root: "/kubepods/pod1" };
    expect(cgroupDirectory(ns, "/kubepods/pod1/c")).toBe("/sys/fs/cgroup/c");
    expect(cgroupDirectory(ns, "/kubepods/pod10")).toBeUndefined();
  });
});
