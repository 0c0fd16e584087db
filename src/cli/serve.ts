import { loadConfig } from "../config/index.ts";
import { configFlag } from "./config-flag.ts";
import { createLogger } from "../log/index.ts";
import { PolicyStartError, startServer } from "../server/index.ts";
import { EXIT, type Command } from "./command.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run sluice: HTTP listener, policy engine with hot reload, audit log",
  usage: "sluice serve [--config PATH]",
  description: `Runs in the foreground until SIGTERM or SIGINT, then shuts down cleanly. SIGHUP re-reads
the policy directory at once. With no config file, runs on the built-in defaults (data in
/var/lib/sluice, policies in /etc/sluice/policies, which may be empty or absent: nothing managed).

Policy edits are applied within a second; an invalid edit is rejected with file:line:col in the
log and the audit trail, and the last good policy stays in force. If the policy directory is
invalid at start, sluice starts with the last good policy stored in its data dir, or refuses to
start (exit 3) when there has never been one.

Logs are JSON lines on stderr (log.format: text for humans).`,
  async run({ flags, err, env }) {
    const loaded = loadConfig({ file: configFlag(flags), env });
    const logger = createLogger({ level: loaded.config.log.level, format: loaded.config.log.format });
    let server;
    try {
      server = await startServer(loaded, logger);
    } catch (e) {
      if (e instanceof PolicyStartError) {
        err(`sluice: ${e.message}\n`);
        return EXIT.policyInvalid;
      }
      throw e;
    }
    const running = server;
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => () => void running.stop(signal).then(resolve);
      process.once("SIGTERM", stop("SIGTERM"));
      process.once("SIGINT", stop("SIGINT"));
    });
    const onHup = () => void running.policy.reloadNow();
    process.on("SIGHUP", onHup);
    await stopped;
    process.off("SIGHUP", onHup);
    return EXIT.ok;
  },
};
