/**
 * The least-privilege setup of docs/security.md, for the tests that run against it: the documented
 * nats-server config, each connection's user, and plugin processes started as those users.
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { PermissionViolationError } from "@nats-io/nats-core";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";

/** The nats-server config of docs/security.md, exactly as written there. */
export function documentedConfig(): string {
  const doc = readFileSync(fileURLToPath(new URL("../../docs/security.md", import.meta.url)), "utf8");
  const block = /<!-- least-privilege-nats-config -->\s*```[a-z]*\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, "docs/security.md holds the least-privilege config block");
  return block[1]!;
}

/** One connection's NATS identity: its user, password and inbox prefix. */
export interface User {
  user: string;
  pass: string;
  inboxPrefix: string;
}

/** Each connection as the docs describe it. */
export const users: Record<"router" | "hello" | "relay", User> = {
  router: { user: "router", pass: "router-secret", inboxPrefix: "_INBOX_router" },
  hello: { user: "hello", pass: "hello-secret", inboxPrefix: "_INBOX_hello" },
  relay: { user: "relay", pass: "relay-secret", inboxPrefix: "_INBOX_relay" },
};

/**
 * `config` with one more plugin user, `name`, granted exactly what the documented `hello` user is
 * granted for hello (its password is `<name>-secret`).
 */
export function withPluginUser(config: string, name: string): { config: string; user: User } {
  const hello = /\{\s*user: hello,[\s\S]*?allow_responses: true\s*\}\s*\}/.exec(config);
  assert.ok(hello, "the documented config has the hello user");
  const entry = hello[0].replaceAll("hello", name);
  return {
    config: config.replace(hello[0], `${hello[0]}\n    ${entry}`),
    user: { user: name, pass: `${name}-secret`, inboxPrefix: `_INBOX_${name}` },
  };
}

/** Starts `switchyard plugin <module>` as `who` and waits until it serves. */
export function startPluginAs(module: string, natsUrl: string, who: User): Promise<ProcessHandle> {
  const proc = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["plugin", module, "--nats", natsUrl]), {
    name: module,
    env: { NATS_USER: who.user, NATS_PASSWORD: who.pass, NATS_INBOX_PREFIX: who.inboxPrefix },
  });
  return proc.waitForLine("plugin ready", 60_000).then(() => proc, async (err) => {
    await proc.stop(2_000); // left running, it would keep the test file's process alive
    throw err;
  });
}

/** The first permission violation the server reports on `nc` within `ms`. */
export async function violation(nc: NatsConnection, act: () => void, ms = 20_000): Promise<PermissionViolationError | undefined> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) return s.error;
    }
    return undefined;
  })();
  act();
  return await orAfter(seen, ms, undefined);
}

/**
 * `promise`, or `fallback` once `ms` have passed (the timer is cleared either way). The bound only
 * ends a test that would otherwise hang: what is awaited is an event.
 */
export async function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((r) => timer = setTimeout(() => r(fallback), ms))]);
  } finally {
    clearTimeout(timer);
  }
}

