import { Buffer } from "node:buffer";
import { generateApiKey, hashApiKey, hashPassword } from "../auth/mod.ts";
import { hashPluginCode, pluginNameOf } from "../supervisor/mod.ts";
import { parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";

/** Reads all of standard input (a password piped in), without the trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

export const hashKeyCommand: Command = {
  name: "hash-key",
  summary: "make an API key and the hash to put in auth.apiKeys",
  usage: `Usage: switchyard hash-key [--id ID] [--key KEY] [--roles a,b]

Prints a new random API key (256 bits; or hashes the one given with --key) and the config entry
holding only its SHA-256. Give the key to the client; keep only the entry.
  --id ID         principal id of the key's holder (default: client)
  --key KEY       hash this key instead of making one
  --roles LIST    comma-separated roles`,
  run(argv) {
    const { values } = parseFlags(argv, { id: { type: "string" }, key: { type: "string" }, roles: { type: "string" } });
    const key = values.key ?? generateApiKey();
    const roles = values.roles?.split(",").map((r) => r.trim()).filter(Boolean) ?? [];
    print(`key:   ${key}`);
    print(`entry: ${JSON.stringify({ id: values.id ?? "client", hash: hashApiKey(key), ...(roles.length > 0 ? { roles } : {}) })}`);
    return Promise.resolve(0);
  },
};

export const hashPasswordCommand: Command = {
  name: "hash-password",
  summary: "make an scrypt hash for auth.basic users (password on stdin)",
  usage: `Usage: echo -n 'password' | switchyard hash-password [--ln 15]

Reads the password from standard input and prints its scrypt hash in PHC format
($scrypt$ln=15,r=8,p=1$<salt>$<hash>) for auth.basic.users[].hash.
  --ln N     cost: N = 2^ln, memory 128 × 8 × 2^ln bytes (default 15: 32 MiB)`,
  async run(argv) {
    const { values } = parseFlags(argv, { ln: { type: "string" } });
    const ln = values.ln === undefined ? undefined : Number(values.ln);
    if (ln !== undefined && !(Number.isInteger(ln) && ln >= 10 && ln <= 20)) throw new UsageError("--ln must be an integer from 10 to 20");
    const password = await readStdin();
    if (password === "") throw new UsageError("Pipe the password in, e.g. echo -n 's3cret' | switchyard hash-password");
    print(await hashPassword(password, ln));
    return 0;
  },
};

export const hashPluginCommand: Command = {
  name: "hash-plugin",
  summary: "print a plugin's code hash for the allow-list",
  usage: `Usage: switchyard hash-plugin <module.ts>... [--files]

Prints "<plugin> sha256:<hex>" for each module: the SHA-256 over the module, every module it
imports by relative path, and its plugin.json (see docs/security.md). Put it in allowList.plugins.
Code the hash cannot fully cover (imports without their file extension, import() of a computed
name, absolute imports, a node_modules of its own) is named on standard error: an allow-list
refuses it.
  --files    also list the files the hash covers`,
  run(argv) {
    const { values, positionals } = parseFlags(argv, { files: { type: "boolean" } });
    if (positionals.length === 0) throw new UsageError("Name the plugin module, e.g. switchyard hash-plugin plugins/hello/mod.ts");
    for (const module of positionals) {
      const hash = hashPluginCode(module);
      print(`${pluginNameOf(module)} ${hash.digest}`);
      if (values.files) for (const f of hash.files) print(`  ${f}`);
      for (const problem of hash.problems) printError(`warning: ${pluginNameOf(module)}: an allow-list refuses it: ${problem}`);
    }
    return Promise.resolve(0);
  },
};
