/**
 * Process selectors of a WorkloadIdentity. A list entry matches when all its keys match (AND);
 * each key takes one value or a list of alternatives (OR). DESIGN §6: binary path + sha256, uid
 * and cgroup are strong; `process:name` and `process:cmdline` are weak (the process sets them).
 */
import * as s from "../../schema/index.ts";
import { SELECTOR_KEYS, WEAK_SELECTOR_KEYS, type SelectorKey, type SelectorMatch, type SelectorSpec } from "../types.ts";
import { absolutePath } from "./common.ts";

const id = (what: string) => s.integer({ min: 0, max: 4_294_967_294, what });
const account = (what: string) =>
  s.string({ what, maxLength: 32, pattern: /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, hint: `a ${what} name (for numeric ids use process:${what === "user" ? "uid" : "gid"})` });

const sha256 = s.refine(
  s.string({ what: "sha256", pattern: /^[0-9a-fA-F]{64}$/, hint: "expected 64 hex characters (sha256sum of the binary)" }),
  (v) => v.toLowerCase(),
);

const comm = s.string({
  what: "process:name",
  check: (v) => {
    const bytes = Buffer.byteLength(v);
    return bytes > 15 ? `process:name ${JSON.stringify(v)} is ${bytes} bytes; the kernel keeps at most 15 (comm), so it can never match` : undefined;
  },
});

const UNIT = /^[A-Za-z0-9:_.\\@-]+\.(service|scope|slice)$/;
const unit = s.string({
  what: "systemd:unit",
  maxLength: 256,
  check: (v) =>
    UNIT.test(v)
      ? undefined
      : /^[A-Za-z0-9:_.\\@-]+$/.test(v) && !/\.(service|scope|slice)$/.test(v)
        ? `invalid systemd:unit ${JSON.stringify(v)}: did you mean "${v}.service"?`
        : `invalid systemd:unit ${JSON.stringify(v)}: expected a unit name like "agent.service"`,
});

const many = <T>(item: s.Schema<T>) => s.optional(s.oneOrMany(item, { max: 256, what: "value" }));

const selectorObject = s.object(
  {
    "process:uid": many(id("uid")),
    "process:gid": many(id("gid")),
    "process:user": many(account("user")),
    "process:group": many(account("group")),
    "process:binary:path": many(absolutePath("process:binary:path")),
    "process:binary:sha256": many(sha256),
    "process:name": many(comm),
    "process:cmdline": many(s.string({ what: "process:cmdline" })),
    "cgroup:path": many(absolutePath("cgroup:path")),
    "systemd:unit": many(unit),
  },
  {
    what: "selector",
    check(v, at, ctx) {
      if (SELECTOR_KEYS.every((k) => v[k] === undefined)) {
        ctx.error(at.map, "empty selector would match every process; add at least one key (e.g. process:binary:path)", "policy.selector");
        return false;
      }
      return true;
    },
  },
);

export const selector: s.Schema<SelectorSpec> = s.refine(s.located(selectorObject), ({ value, at }, node, ctx) => {
  const match: Record<string, unknown> = {};
  for (const k of SELECTOR_KEYS) if (value[k] !== undefined) match[k] = value[k];
  const keys = Object.keys(match) as SelectorKey[];
  const weak = keys.every((k) => WEAK_SELECTOR_KEYS.has(k));
  if (weak)
    ctx.warning(
      node,
      `selector uses only ${keys.join(" and ")}, which the process itself controls: any process can claim this identity; add process:uid, process:binary:path (+ process:binary:sha256) or cgroup:path`,
      "policy.weak-selector",
    );
  return { match: match as SelectorMatch, weak, at };
});
