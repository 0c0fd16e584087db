/** The systemd unit comes from the system manager's level of the cgroup path, not from below it. */
import { describe, expect, test } from "bun:test";
import { systemdFromCgroup } from "../../../src/identity/index.ts";

describe("systemd unit from the cgroup path", () => {
  test("system service", () => {
    expect(systemdFromCgroup("/system.slice/coder-agent.service")).toEqual({ unit: "coder-agent.service", slices: ["system.slice"] });
  });

  test("sub-cgroups a service created stay in the service", () => {
    expect(systemdFromCgroup("/system.slice/docker.service/sub/x.scope").unit).toBe("docker.service");
  });

  test("session scope with its slices", () => {
    expect(systemdFromCgroup("/user.slice/user-1000.slice/session-3.scope")).toEqual({
      unit: "session-3.scope",
      slices: ["user.slice", "user-1000.slice"],
    });
  });

  test("a user unit cannot claim a system unit's name", () => {
    // systemd --user (delegated to uid 1000) can name its units anything.
    const f = systemdFromCgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/coder-agent.service");
    expect(f.unit).toBe("user@1000.service");
    expect(f.userUnit).toBe("coder-agent.service");
    expect(f.slices).toEqual(["user.slice", "user-1000.slice"]);
  });

  test("no systemd: no unit", () => {
    expect(systemdFromCgroup("/")).toEqual({ slices: [] });
    expect(systemdFromCgroup(undefined)).toEqual({ slices: [] });
    expect(systemdFromCgroup("/kubepods/besteffort/pod1")).toEqual({ slices: [] });
  });
});
