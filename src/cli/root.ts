import { auditCommand } from "./audit.ts";
import { bundleCommand } from "./bundle.ts";
import { clientCommand } from "./client.ts";
import type { Command } from "./command.ts";
import { credentialsCommand } from "./credentials.ts";
import { doctorCommand } from "./doctor.ts";
import { identifyCommand } from "./identify.ts";
import { initCommand } from "./init.ts";
import { kernelCommand } from "./kernel.ts";
import { policyCommand } from "./policy.ts";
import { serveCommand } from "./serve.ts";
import { userCommand } from "./user.ts";
import { svidCommand } from "./svid.ts";
import { trustCommand } from "./trust.ts";
import { versionCommand } from "./version.ts";

export const rootCommand: Command = {
  name: "sluice",
  summary: "sluice: identity, default-deny egress and credentials the agent never holds, for every AI agent on this host",
  usage: "sluice COMMAND [flags]",
  description: `Getting started:
  sudo sluice init              write /etc/sluice/sluice.yaml and example policies
  sudo sluice policy check      validate the policies
  sudo sluice serve             run (works with no config at all)
  sudo sluice doctor            check this host`,
  subcommands: [serveCommand, initCommand, policyCommand, identifyCommand, svidCommand, bundleCommand, kernelCommand, trustCommand, auditCommand, credentialsCommand, clientCommand, userCommand, doctorCommand, versionCommand],
};
