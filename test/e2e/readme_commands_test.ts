// Runs once: the README's commands pick their runtime themselves (bin/switchyard, SWITCHYARD_RUNTIME), deno, bun and node among them.
/**
 * Every command README.md shows, and every command the CLI prints as a hint, run as printed: in a
 * fresh checkout of the test's own (see {@linkcode checkout}), with the PATH of a machine that
 * has only the system Node ({@linkcode SYSTEM_PATH}), and only these adaptations: the router's
 * port 8080 and NATS's 4222 become the ones the test's servers got (the machine may be running its
 * own), and `npm test` runs on this runtime without the type-check (the suite runs those).
 * Commands that cannot run here are listed in SKIPPED with the reason; any other command the test
 * does not run fails it.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { connectBus, instanceSubjectBase } from "../../src/bus/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { freePort, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import {
  adapt,
  runShell,
  shownCommands,
  startShell,
  stopShell,
  withoutRequestIds,
} from "./_shell_commands.ts";
import type { ShellContext, ShownCommand } from "./_shell_commands.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const COMMANDS = shownCommands(README);

/** Shown but not run here, and why. */
const SKIPPED: [RegExp, string][] = [
  [/^npm test$/, "the suite itself (this test is part of it)"],
  [/^npm run test:stress$/, "the suite itself, under load"],
  [
    /^docker compose /,
    "needs Docker; test/static/docker_test.ts checks the compose file and the Dockerfiles",
  ],
  [/^open http/, "opens a browser (Jaeger's UI of the compose stack)"],
];

/** What the tests below run: every README command matches one of these or a SKIPPED entry. */
const RUN: RegExp[] = [
  /^curl /,
  /^npm run demo$/,
  /^npm run demo -- --config demo\.config\.yaml$/,
  /switchyard plugin /,
  /switchyard new /,
  /^(\.\/bin\/switchyard|npx switchyard) (dev )?--help$/,
  /^npm test -- /,
  /^\.\/bin\/switchyard (up|router) --config switchyard\.config\.yaml$/,
  /^\.\/bin\/switchyard (ps|reload hello)$/,
  /^export SWITCHYARD_ADMIN_TOKEN=/,
  /^\.\/bin\/switchyard drain hello /,
  /^kill -TERM %[12]$/,
  /^\.\/bin\/switchyard trace demo-1/,
];

/** The README commands whose text matches `pattern` (at least one). */
function shown(pattern: RegExp): ShownCommand[] {
  const found = COMMANDS.filter((c) => pattern.test(c.command));
  assert.ok(found.length > 0, `README shows no command matching ${pattern}`);
  return found;
}

/**
 * A fresh checkout to run commands in, as a user would: copies of bin/, scripts/, src/, plugins/
 * and the package files, with node_modules linked (as `npm install` would leave it). No
 * package-lock.json: bootstrap would take the copy's newer one for a stale node_modules.
 */
function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-readme-"));
  for (const part of ["bin", "scripts", "src", "plugins", "package.json", "deno.json", "tsconfig.json"]) {
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * The PATH of a fresh machine: this one's without any node_modules/.bin, so `node` is the system's
 * (Node 20 on Debian 12) and only the commands themselves find the pinned toolchain.
 */
const SYSTEM_PATH = (process.env.PATH ?? "").split(delimiter).filter((d) =>
  !/node_modules[\\/]\.bin\/?$/.test(d)
).join(delimiter);

function context(
  cwd: string,
  routerUrl: string,
  natsUrl: string,
  env: Record<string, string> = {},
): ShellContext {
  const port = new URL(routerUrl).port;
  return {
    cwd,
    env: {
      PATH: SYSTEM_PATH,
      NATS_URL: natsUrl,
      // `npm test -- <file>`: this runtime, no type-check, no promtool install, logs of its own.
      SWITCHYARD_SKIP_CHECK: "1",
      SWITCHYARD_TEST_RUNTIMES: currentRuntime(),
      SWITCHYARD_SKIP_PROMTOOL: "1",
      SWITCHYARD_ROUTER: undefined,
      SWITCHYARD_ADMIN_TOKEN: undefined,
      // The runner's own marker: a nested `node --test` would take itself for one of its files.
      NODE_TEST_CONTEXT: undefined,
      ...env,
    },
    replace: [["localhost:8080", `127.0.0.1:${port}`], ["127.0.0.1:8080", `127.0.0.1:${port}`], [
      "nats://127.0.0.1:4222",
      natsUrl,
    ]],
  };
}

/** Runs a command to its end and checks exit 0 and, for a `$ ` command, the output shown under it. */
async function check(cmd: ShownCommand | string, ctx: ShellContext): Promise<string[]> {
  const command = typeof cmd === "string" ? cmd : cmd.command;
  const { code, lines } = await runShell(command, ctx);
  assert.equal(code, 0, `${adapt(command, ctx)}\n${lines.join("\n")}`);
  if (typeof cmd !== "string" && cmd.output.length > 0) {
    const out = lines.filter((l) => l !== "");
    if (/ \| grep /.test(command)) {
      // Counts differ from run to run: the series (name and labels) must be there.
      const series = (l: string) => l.split(" ")[0];
      for (const line of cmd.output) {
        assert.ok(
          out.some((l) => series(l) === series(line)),
          `${command}: no ${series(line)} in\n${out.join("\n")}`,
        );
      }
    } else {
      assert.deepEqual(out.map(withoutRequestIds), cmd.output.map(withoutRequestIds), command);
    }
  }
  return lines;
}

/**
 * Starts `switchyard plugin …`, waits until the instance has answered a request of its own (its
 * event loop runs past start-up, signal handlers included), and stops it with SIGTERM: exit 0.
 */
async function checkPlugin(
  command: string,
  ctx: ShellContext,
  method: string,
  input: unknown,
): Promise<void> {
  const proc = startShell(command, ctx);
  try {
    const ready = await proc.waitForLine("plugin ready", 60_000);
    const { plugin, instance } = JSON.parse(ready.slice(ready.indexOf("{"))) as {
      plugin: string;
      instance: string;
    };
    const nc = await connectBus({ servers: [ctx.env.NATS_URL!] });
    try {
      await nc.request(`${instanceSubjectBase("sy", plugin, instance)}.${method}`, JSON.stringify(input), {
        timeout: 30_000,
      });
    } finally {
      await nc.close();
    }
    const status = await stopShell(proc);
    const why = `${adapt(command, ctx)}\n${proc.lines.slice(-20).join("\n")}`;
    await proc.closed;
    assert.ok(proc.lines.some((l) => l.includes('"msg":"drained"') && l.includes('"aborted":false')), why);
    // npx runs the bin through `sh -c`, which the signal ends at once; npm then ends itself with
    // the same signal once the plugin has drained and exited 0. Everything else exits 0 itself.
    if (command.startsWith("npx ")) assert.ok(status.code === 0 || status.signal === "SIGTERM", why);
    else assert.deepEqual(status, { code: 0, signal: null }, why);
  } finally {
    await stopShell(proc, "SIGKILL");
  }
}

/** `npm run demo -- <flags> --port <free>` in `cwd`; resolves once it is up, with its URLs and hint lines. */
async function startDemo(
  command: string,
  cwd: string,
): Promise<{ demo: ProcessHandle; url: string; natsUrl: string; port: number }> {
  const port = await freePort();
  const demo = startShell(`${command}${command.includes(" -- ") ? "" : " --"} --port ${port}`, {
    cwd,
    env: { PATH: SYSTEM_PATH, NATS_URL: undefined, NODE_TEST_CONTEXT: undefined },
    replace: [],
  });
  try {
    await demo.waitForLine("Switchyard dev is up", 90_000);
  } catch (err) {
    await stopShell(demo, "SIGKILL"); // left running, it would keep this file's process alive
    throw err;
  }
  const up = demo.lines.find((l) => l.includes("Switchyard dev is up"))!;
  const [, url, natsUrl] = /router (http:\/\/\S+), NATS (nats:\/\/\S+),/.exec(up)!;
  return { demo, url: url!, natsUrl: natsUrl!, port };
}

/** Ctrl-C as a terminal sends it: the whole process group; exit 0. */
async function ctrlC(demo: ProcessHandle): Promise<void> {
  assert.deepEqual(
    await stopShell(demo, "SIGINT"),
    { code: 0, signal: null },
    demo.lines.slice(-20).join("\n"),
  );
}

/** The line after `label` in the output, e.g. "Try:" → the command printed after it. */
function hint(lines: readonly string[], label: string, until = /\s{3}\S+:|\s{3}\(|$/): string {
  const line = lines.find((l) => l.includes(label));
  assert.ok(line !== undefined, `no "${label}" hint in\n${lines.join("\n")}`);
  return line.slice(line.indexOf(label) + label.length).split(until)[0]!.trim();
}

describe("README and CLI hints: `npm run demo` and what runs against it", () => {
  let dir: string;
  let demo: ProcessHandle;
  let ctx: ShellContext;
  let demoUrl: string;
  before(async () => {
    dir = checkout();
    const started = await startDemo(shown(/^npm run demo$/)[0]!.command, dir);
    demo = started.demo;
    demoUrl = started.url;
    ctx = context(dir, started.url, started.natsUrl);
  });
  after(async () => {
    if (demo !== undefined) await ctrlC(demo);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the curl examples answer what the README shows", async () => {
    // All but the counter step of the --config demo (its own test below).
    for (
      const cmd of COMMANDS.filter((c) =>
        c.command.startsWith("curl ") && c.output[0] !== '{"count":4,"added":4}'
      )
    ) {
      const lines = await check(cmd, ctx);
      if (cmd.output.length === 0 && !cmd.command.includes("| grep")) JSON.parse(lines.join("\n"));
    }
  });

  test("switchyard trace prints the tree of the request the README sends with x-request-id: demo-1", async () => {
    const send = shown(/x-request-id: demo-1/)[0]!;
    await check(send, ctx);
    // The router keeps the request's spans as they end; the plugin's arrive through its exporter.
    const trace = { ...ctx, env: { ...ctx.env, SWITCHYARD_ROUTER: demoUrl } };
    let lines: string[] = [];
    await waitFor(async () => {
      lines = await check(shown(/switchyard trace demo-1/)[0]!, trace);
      return lines.some((l) => /request demo-1/.test(l)) && lines.some((l) => /hello/.test(l) && /greet/.test(l));
    }, { timeoutMs: 30_000, message: () => `the trace of demo-1:\n${lines.join("\n")}` });
  });

  test("the demo's own hints: Try, List, Instances", async () => {
    // As printed, in the folder the demo ran in.
    const rootCtx = { ...ctx, replace: [] };
    assert.deepEqual(JSON.parse((await check(hint(demo.lines, "Try:"), rootCtx)).join("")), {
      message: "Hello, World",
    });
    assert.ok(Array.isArray(JSON.parse((await check(hint(demo.lines, "List:"), rootCtx)).join("")).plugins));
    const ps = await check(hint(demo.lines, "Instances:"), rootCtx);
    for (const plugin of ["hello", "counter", "text"]) {
      assert.ok(ps.some((l) => l.includes(` ${plugin} `)), ps.join("\n"));
    }
  });

  test("a plugin as its own process on each runtime, and through npx: ready, then SIGTERM drains it, exit 0", async () => {
    const plugins = shown(/switchyard plugin /);
    await Promise.all(plugins.map((p) => checkPlugin(p.command, ctx, "greet", { name: "README" })));
  });

  test("switchyard new, then the commands it prints: test it, run it, call it", async () => {
    const scaffold = checkout();
    try {
      const newCtx = { ...ctx, cwd: scaffold };
      const printed = await check(shown(/switchyard new /)[0]!, newCtx);
      await check(hint(printed, "Test it:"), newCtx);
      await using plugin = startShell(hint(printed, "Run it:"), newCtx);
      await plugin.waitForLine("plugin ready", 60_000);
      const call = await check(hint(printed, "Call it:"), newCtx);
      assert.ok(call.includes('{"text":"hi"}'), call.join("\n"));
      assert.deepEqual(await stopShell(plugin), { code: 0, signal: null }, plugin.lines.join("\n"));
    } finally {
      rmSync(scaffold, { recursive: true, force: true });
    }
  });

  test("the CLI's help and its hints, npx included; call's example; one plugin's tests", async () => {
    for (const cmd of shown(/(switchyard|npx switchyard) (dev )?--help$/)) await check(cmd, ctx);
    const help = await check("./bin/switchyard --help", ctx);
    // `Run "./bin/switchyard <command> --help"`: with a real command.
    const perCommand = /Run "(.+) <command> --help"/.exec(help.join("\n"))![1]!;
    assert.match((await check(`${perCommand} ps --help`, ctx)).join("\n"), /Usage: switchyard ps/);
    assert.ok(help.some((l) => l.includes('"npx switchyard"')));
    const example = /^Example: (.+)$/m.exec(
      (await check("./bin/switchyard call --help", ctx)).join("\n"),
    )![1]!;
    assert.ok((await check(example, ctx)).includes('{"message":"Hello, World"}'));
    await check(shown(/^npm test -- /)[0]!, ctx);
  });
});

test("README: the demo with --config takes plugin options from the file", async () => {
  const dir = checkout();
  try {
    const yaml = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) =>
      /counter: \{ options: \{ step: 2 \} \}/.test(b)
    )!;
    assert.ok(yaml !== undefined, "the README shows demo.config.yaml");
    writeFileSync(join(dir, "demo.config.yaml"), yaml);
    const [command] = shown(/^npm run demo -- --config demo\.config\.yaml$/);
    const { demo, url, natsUrl } = await startDemo(command!.command, dir);
    try {
      const increment = COMMANDS.find((c) =>
        c.command.includes("counter/increment") && c.output[0] === '{"count":4,"added":4}'
      )!;
      await check(increment, context(dir, url, natsUrl));
    } finally {
      await ctrlC(demo);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("README: the lifecycle session (up, router, ps, reload, drain, resume, kill) with its config file", async () => {
  const dir = checkout();
  let nats: NatsServer | undefined;
  const jobs: ProcessHandle[] = [];
  try {
    const yaml = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) =>
      b.includes("supervisor:")
    )!;
    writeFileSync(join(dir, "switchyard.config.yaml"), yaml);
    const config = parseYaml(yaml) as { plugins: Record<string, { replicas?: number }> };
    nats = await startNatsServer();
    const port = await freePort();
    const ctx = context(dir, `http://127.0.0.1:${port}`, nats.url, { PORT: String(port) });
    const session = COMMANDS.slice(COMMANDS.findIndex((c) => /switchyard up --config/.test(c.command)));
    for (const cmd of session.slice(0, session.findIndex((c) => /^kill -TERM %1$/.test(c.command)) + 1)) {
      const kill = /^kill -TERM %(\d)$/.exec(cmd.command);
      const exported = /^export (\w+)=(\S+)$/.exec(cmd.command);
      if (cmd.background) {
        const job = startShell(cmd.command, ctx);
        jobs.push(job);
        await job.waitForLine(/supervisor up|router ready/, 90_000);
        if (jobs.length === 2) {
          // As a user would: look once everything listed in the file is up.
          await waitFor(async () => {
            const res = await fetch(`http://127.0.0.1:${port}/v1/plugins`).then(
              (r) => r.json(),
              () => ({ plugins: [] }),
            );
            return Object.entries(config.plugins).every(([name, p]) =>
              (res.plugins.find((x: { name: string }) => x.name === name)?.versions ?? []).flatMap((
                v: { instances: unknown[] },
              ) => v.instances).length === (p.replicas ?? 1)
            );
          }, { timeoutMs: 90_000, message: "every plugin of the file to serve" });
        }
      } else if (kill !== null) {
        const job = jobs[Number(kill[1]) - 1]!;
        assert.deepEqual(await stopShell(job), { code: 0, signal: null }, job.lines.slice(-20).join("\n"));
      } else if (exported !== null) {
        ctx.env[exported[1]!] = exported[2]!;
      } else {
        const lines = await check(cmd, ctx);
        if (/ drain hello .*--timeout/.test(cmd.command)) {
          // The hint it prints works as printed too.
          await check(/until "(.+)"\.$/.exec(lines.find((l) => l.includes("--resume"))!)![1]!, ctx);
        }
        if (/switchyard ps$/.test(cmd.command)) {
          assert.equal(
            lines.filter((l) => / hello /.test(l)).length,
            config.plugins.hello!.replicas,
            lines.join("\n"),
          );
        }
      }
    }
  } finally {
    for (const job of jobs.reverse()) await stopShell(job, "SIGKILL");
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("README: every command shown is run by a test here, or skipped for a stated reason", () => {
  assert.ok(COMMANDS.length >= 25, `found ${COMMANDS.length} commands`);
  const missing = COMMANDS.map((c) => c.command).filter((c) =>
    !RUN.some((p) => p.test(c)) && !SKIPPED.some(([p]) => p.test(c))
  );
  assert.deepEqual(missing, [], "README commands no test runs");
});
