import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect as connectTls } from "node:tls";
import type { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttpFrom } from "./_raw_http.ts";

const tlsFile = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const pem = (name: string) => readFileSync(tlsFile(name), "utf8");

/** A TCP socket of this process, as `/proc/net/tcp` lists it (what `ss -tnp` shows an attacker). */
interface TcpEntry {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  listening: boolean;
}

const hexAddress = (hex: string) => {
  const [ip, port] = hex.split(":") as [string, string];
  return { address: [3, 2, 1, 0].map((i) => parseInt(ip.slice(i * 2, i * 2 + 2), 16)).join("."), port: parseInt(port, 16) };
};

function ownTcpSockets(): TcpEntry[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m !== null) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).map((line) => line.trim().split(/\s+/)).filter((f) => f.length > 9 && inodes.has(f[9]!))
    .map((f) => ({ local: hexAddress(f[1]!), remote: hexAddress(f[2]!), listening: f[3] === "0A" }));
}

/** One request on an open keep-alive TLS connection; resolves with the response text. */
function ask(socket: TLSSocket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: string) => {
      text += chunk;
      if (text.includes("\r\n\r\n") && text.trimEnd().endsWith("}")) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  });
}

const skip = currentRuntime() === "node" ? "Node serves TLS itself (node:https): there is no guard and no loopback backend" : false;

describe("the connection guard cannot be impersonated", { skip }, () => {
  let stack: Stack;
  let alice: TLSSocket;
  before(async () => {
    stack = await startStack([fixturePath("whoami")], {
      router: { tls: { certFile: tlsFile("server.crt"), keyFile: tlsFile("server.key"), clientCaFile: tlsFile("ca.crt") } },
      auth: { mtls: { roles: ["caller"] }, rules: [{ principals: ["alice"], plugins: ["whoami"], methods: ["me"] }] },
    });
    alice = connectTls({ host: "127.0.0.1", port: stack.router.port, ca: pem("ca.crt"), cert: pem("alice.crt"), key: pem("alice.key"), servername: "localhost" });
    alice.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => alice.once("secureConnect", resolve).once("error", reject));
  });
  after(async () => {
    alice?.destroy();
    await stack[Symbol.asyncDispose]();
  });

  test("Deno: the guard serves TLS connections itself; no loopback backend exists to reach", { skip: currentRuntime() !== "deno" }, async () => {
    assert.match(await ask(alice, "/v1/whoami/me"), /"id":"alice"/, "alice is served");
    const sockets = ownTcpSockets();
    assert.deepEqual(sockets.filter((s) => s.listening).map((s) => s.local.port), [stack.router.port], "the router's public port is the one listening socket");
    const natsPort = Number(new URL(stack.nats.url).port);
    const others = sockets.filter((s) => !s.listening && s.local.port !== stack.router.port && s.remote.port !== stack.router.port && s.remote.port !== natsPort);
    assert.deepEqual(others, [], "no connection but the clients', the router's own and those to NATS");
    assert.match(await ask(alice, "/v1/whoami/me"), /"id":"alice"/, "alice's connection still works");
  });

  test("a plain connection to the backend from 127.0.0.2 with the port of alice's guarded connection gets 421", { skip: currentRuntime() === "deno" ? "Deno has no loopback backend" : false }, async () => {
    assert.match(await ask(alice, "/v1/whoami/me"), /"id":"alice"/, "alice is served through the guard");
    // What a local attacker sees: the backend's loopback port, and the guard's connection to it.
    let guarded: TcpEntry | undefined;
    await waitFor(() => {
      const sockets = ownTcpSockets();
      const backendPorts = new Set(sockets.filter((s) => s.listening && s.local.port !== stack.router.port && s.local.address === "127.0.0.1").map((s) => s.local.port));
      guarded = sockets.find((s) => !s.listening && backendPorts.has(s.remote.port) && s.local.address === "127.0.0.1");
      return guarded !== undefined;
    }, { timeoutMs: 5_000, message: "the guard's loopback connection in /proc/net/tcp" });
    const { local, remote } = guarded!;
    const request = "POST /v1/whoami/me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    const spoofed = await rawHttpFrom({ address: "127.0.0.2", port: local.port }, remote.port, request);
    assert.equal(spoofed.status, 421, spoofed.text.slice(0, 300));
    assert.match(spoofed.text, /"code":"misdirected_request"/);
    assert.doesNotMatch(spoofed.text, /alice/);
    const direct = await rawHttpFrom({ address: "127.0.0.1" }, remote.port, request);
    assert.equal(direct.status, 421, "from a port of its own");
    assert.match(direct.text, /"code":"misdirected_request"/);
    assert.match(await ask(alice, "/v1/whoami/me"), /"id":"alice"/, "alice's connection still works");
  });
});
