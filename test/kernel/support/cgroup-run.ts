/**
 * Run real processes inside a test cgroup and let them try connections: a shell moves itself into
 * the cgroup (cgroup.procs) and then execs the command, so every socket it and its children create
 * belongs to that cgroup. `probe` runs a python3 script that tries each connection and prints
 * `ok` or the errno name per attempt.
 */
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number;
}

export function makeCgroup(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

export function removeCgroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still populated (a process left behind) or already gone: nothing more to do
  }
}

export async function runInCgroup(cgroup: string, cmd: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  const p = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...cmd], { stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr, pid: p.pid };
}

/** [family, protocol, address, port, operation]; `thread-connect` connects from a new thread. */
export type Attempt = readonly [4 | 6, "tcp" | "udp", string, number, "connect" | "sendto" | "thread-connect"];

export const PROBE_PY = `
import errno, json, socket, sys, threading
def attempt(fam, proto, addr, port, op):
    s = socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        if op == "sendto":
            s.sendto(b"x", (addr, port))
        else:
            s.connect((addr, port))
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
out = []
for fam, proto, addr, port, op in json.loads(sys.argv[1]):
    if op == "thread-connect":
        box = []
        t = threading.Thread(target=lambda: box.append(attempt(fam, proto, addr, port, op)))
        t.start()
        t.join()
        out.append(box[0])
    else:
        out.append(attempt(fam, proto, addr, port, op))
print(json.dumps(out))
`;

/**
 * Run the probe in `cgroup`. `via`: a launcher (e.g. a copied shell whose inode classifies it)
 * that runs python3 as a forked child — exercising exec classification and fork inheritance.
 */
export async function probe(cgroup: string, python: string, attempts: readonly Attempt[], via?: string): Promise<string[]> {
  const py = [python, "-c", PROBE_PY, JSON.stringify(attempts)];
  // `; exit $?` keeps the shell from exec'ing python in place: python is a forked child.
  const cmd = via ? [via, "-c", '"$0" "$@"; exit $?', ...py] : py;
  const r = await runInCgroup(cgroup, cmd);
  if (r.code !== 0) throw new Error(`probe failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}
