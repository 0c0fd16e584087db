import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/index.ts";
import { UsageError } from "../errors/index.ts";
import { BpfMap, CODECS, COUNTERS, detachAll, guardedInterfaces, listPins, readNetdevPins, type SluiceProc, type SluiceState } from "../kernel/index.ts";
import { EXIT, type Command } from "./command.ts";
import { configFlag } from "./config-flag.ts";

const statusCommand: Command = {
  name: "status",
  summary: "Show what sluice has attached in the kernel",
  usage: "sluice kernel status [--json]",
  description: `Reads the pins under kernel.pinDir (default /sys/fs/bpf/sluice): the attached programs
(links), the maps, the policy generation in force, how many processes are classified per
workload, the decision counters, and per interface how TC egress (the second line: tcx, or a
cls_bpf filter on clsact where the kernel has no tcx) and XDP ingress (protected local ports)
are attached. An interface without them is marked: there, raw-socket traffic of managed
workloads is checked only by the connect/sendmsg hooks and protected ports are reachable
directly. Works whether or not sluice serve is running: pinned programs keep enforcing while it
is down. Needs root.`,
  run(ctx) {
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const pinDir = config.kernel.pinDir;
    const pins = listPins(pinDir);
    if (pins.length === 0) {
      if (ctx.flags.json) ctx.out(JSON.stringify({ pinDir, attached: false, pins: [] }) + "\n");
      else ctx.out(`nothing attached: no pins under ${pinDir} (egress is not enforced)\n`);
      return EXIT.ok;
    }
    const mapPath = (n: string) => join(pinDir, "maps", n);
    let state: SluiceState | undefined;
    const perWorkload: Record<number, number> = {};
    const counters: Record<string, string> = {};
    if (existsSync(mapPath("state"))) {
      const s = BpfMap.adopt<number, SluiceState>(mapPath("state"), CODECS.state);
      state = s.lookup(0);
      s.close();
    }
    if (existsSync(mapPath("procs"))) {
      const procs = BpfMap.adopt<number, SluiceProc>(mapPath("procs"), CODECS.procs);
      for (const [, p] of procs.entries()) perWorkload[p.workload] = (perWorkload[p.workload] ?? 0) + 1;
      procs.close();
    }
    if (existsSync(mapPath("counters"))) {
      const c = BpfMap.adopt<number, bigint>(mapPath("counters"), CODECS.counters);
      for (const [name, index] of Object.entries(COUNTERS)) if (name !== "MAX") counters[name.toLowerCase()] = c.sumPerCpu(index).toString();
      c.close();
    }
    const links = pins.filter((p) => p.kind === "link" && p.name.startsWith("links/")).map((p) => p.name);
    const pinned = new Map(readNetdevPins(pinDir).map((i) => [i.name, i]));
    const interfaces = guardedInterfaces().map((i) => {
      const p = pinned.get(i.name);
      return { name: i.name, tc: p?.tc ?? "none", xdp: p?.xdp ?? false };
    });
    const data = { pinDir, attached: links.length > 0, links, interfaces, maps: pins.filter((p) => p.kind === "map").map((p) => p.name), state: state ? { generation: state.generation, activeSlot: state.activeSlot, proxyPort: state.proxy?.port ?? 0 } : null, classified: perWorkload, counters };
    if (ctx.flags.json) ctx.out(JSON.stringify(data) + "\n");
    else {
      ctx.out(`${links.length} program(s) attached, pinned under ${pinDir}: ${links.join(", ")}\n`);
      if (state) ctx.out(`policy generation ${state.generation} (slot ${state.activeSlot}), intercepted Service connects redirected to ${state.proxy ? `proxy port ${state.proxy.port}` : "no proxy (Service connects are plain allows)"}\n`);
      ctx.out(`classified processes: ${Object.entries(perWorkload).map(([w, n]) => `${w === "0" ? "unmanaged" : `workload#${w}`}=${n}`).join(", ") || "none"}\n`);
      for (const i of interfaces) {
        const missing = i.tc === "none" || !i.xdp;
        ctx.out(`interface ${i.name}: TC egress ${i.tc === "none" ? "NOT attached" : `attached (${i.tc})`}, XDP ingress ${i.xdp ? "attached" : "NOT attached"}${missing ? " (this interface is guarded by the connect/sendmsg hooks only)" : ""}\n`);
      }
      ctx.out(`counters: ${Object.entries(counters).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    }
    return EXIT.ok;
  },
};

const detachCommand: Command = {
  name: "detach",
  summary: "Remove every sluice program and map from the kernel (stops enforcement)",
  usage: "sluice kernel detach --yes",
  description: `Unpins every link and map under kernel.pinDir: the programs detach and egress is no longer
enforced until sluice serve attaches them again. Stop sluice serve first, or it keeps its own
references until it exits. --yes is required: this turns protection off.`,
  flags: [{ name: "yes", kind: "boolean", help: "really detach (enforcement stops)" }],
  run(ctx) {
    if (!ctx.flags.yes) throw new UsageError("sluice kernel detach turns egress enforcement off; add --yes to confirm");
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const removed = detachAll(config.kernel.pinDir);
    if (ctx.flags.json) ctx.out(JSON.stringify({ pinDir: config.kernel.pinDir, removed: removed.map((p) => p.name) }) + "\n");
    else ctx.out(removed.length ? `detached: removed ${removed.length} pin(s) under ${config.kernel.pinDir}\n` : `nothing to detach under ${config.kernel.pinDir}\n`);
    return EXIT.ok;
  },
};

export const kernelCommand: Command = {
  name: "kernel",
  summary: "Inspect or remove kernel enforcement",
  usage: "sluice kernel COMMAND",
  subcommands: [statusCommand, detachCommand],
};
