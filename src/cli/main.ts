#!/usr/bin/env node
/**
 * The `switchyard` command: the composition root. Runs the same on Deno, Bun and Node.
 * @module
 */
import { ConfigError } from "../config/mod.ts";
import { callCommand } from "./call_command.ts";
import { conformanceCommand } from "./conformance_command.ts";
import { cliCommand, printError, print, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { devCommand } from "./dev_command.ts";
import { drainCommand } from "./drain_command.ts";
import { psCommand } from "./ps_command.ts";
import { reloadCommand } from "./reload_command.ts";
import { upCommand } from "./up_command.ts";
import { lsCommand } from "./ls_command.ts";
import { newCommand } from "./new_command.ts";
import { pingCommand } from "./ping_command.ts";
import { pluginCommand } from "./plugin_command.ts";
import { routerCommand } from "./router_command.ts";
import { traceCommand } from "./trace_command.ts";
import { hashKeyCommand, hashPasswordCommand, hashPluginCommand } from "./hash_commands.ts";

const COMMANDS: readonly Command[] = [
  devCommand,
  routerCommand,
  pluginCommand,
  callCommand,
  lsCommand,
  pingCommand,
  conformanceCommand,
  newCommand,
  // lifecycle
  upCommand,
  psCommand,
  reloadCommand,
  drainCommand,
  traceCommand,
  hashKeyCommand,
  hashPasswordCommand,
  hashPluginCommand,
];

const CLI = cliCommand();
const USAGE = `Usage: switchyard <command> [options]

Switchyard runs plugins as NATS services and serves them over HTTP.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`).join("\n")}

Run "${CLI} <command> --help" for a command's options.
This command needs only the system Node: it runs under the Node 24 in node_modules
(SWITCHYARD_RUNTIME=deno or bun picks another runtime). "npx switchyard" works too, in the repository.`;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    print(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    printError(`Unknown command "${name}".\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    print(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      printError(`switchyard ${command.name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      printError(err.message);
      return 78;
    }
    printError(`switchyard ${command.name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
