/**
 * The systemd unit of a process, read from its cgroup path (systemd puts every unit in a cgroup
 * named after it: `/system.slice/coder-agent.service`, `/user.slice/user-1000.slice/session-3.scope`).
 *
 * The unit is the FIRST `*.service` or `*.scope` component: the unit the system manager (PID 1)
 * created. Components below it may be named by whoever the subtree is delegated to — a user's
 * `systemd --user` (under `user@1000.service`), a container runtime — so a deeper component
 * called `coder-agent.service` says nothing a user could not have chosen. Taking the last
 * component would let any user claim a system service's `systemd:unit`. The deepest unit under a
 * user manager is still reported (`userUnit`) for people to read; selectors never match it.
 */
export interface SystemdFacts {
  /** The system manager's unit, e.g. `coder-agent.service`, `session-3.scope`, `user@1000.service`. */
  unit?: string;
  /** The slices above that unit, outermost first (`user.slice`, `user-1000.slice`). */
  slices: string[];
  /** Under `user@UID.service`: the deepest user unit (informational only). */
  userUnit?: string;
}

const UNIT = /\.(service|scope)$/;
const USER_MANAGER = /^user@\d+\.service$/;

export function systemdFromCgroup(path: string | undefined): SystemdFacts {
  const out: SystemdFacts = { slices: [] };
  if (!path) return out;
  const parts = path.split("/").filter((p) => p !== "");
  let i = 0;
  for (; i < parts.length; i++) {
    const p = parts[i] as string;
    if (UNIT.test(p)) {
      out.unit = p;
      break;
    }
    if (p.endsWith(".slice")) out.slices.push(p);
  }
  if (out.unit && USER_MANAGER.test(out.unit)) {
    for (let j = parts.length - 1; j > i; j--) {
      const p = parts[j] as string;
      if (UNIT.test(p)) {
        out.userUnit = p;
        break;
      }
    }
  }
  return out;
}
