import type { NatsConnection } from "@nats-io/nats-core";
import {
  connectBus,
  decodeWireError,
  H_CHUNKS,
  H_DEADLINE,
  H_INSTANCE,
  instanceSubjectBase,
  isLastMessage,
  RequestMux,
  StreamPull,
  streamSubject,
  versionSubjectBase,
  WireHeaders,
} from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import { systemClock } from "../deps.ts";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { SwitchyardError } from "../errors.ts";
import { servePlugin } from "../host/mod.ts";
import type { PluginHost, ServePluginOptions } from "../host/mod.ts";
import type { Plugin } from "../plugin/mod.ts";
import { startNatsServer } from "./nats_server.ts";
import type { NatsServer } from "./nats_server.ts";

/** A plugin served in this process on a real nats-server, ready to be called. */
export interface PluginHarness extends AsyncDisposable {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly host: PluginHost;
  /**
   * Calls a method over the bus as the router would and returns its output.
   * @throws {SwitchyardError} with the plugin's code, status and issues on an error reply.
   */
  call(method: string, input: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
  /**
   * Calls a streaming method over the bus as the router would (pulling its items with a credit
   * window) and gives its items as they come; leaving the loop early cancels the stream.
   * @throws {SwitchyardError} from the loop, with the plugin's code and status on an error.
   */
  stream(method: string, input: unknown, options?: { timeoutMs?: number }): AsyncIterable<unknown>;
}

/**
 * Starts a nats-server, serves `plugin` on it in this process, and gives a `call()` to test it.
 *
 * @example
 * ```ts
 * await using h = await startPluginHarness(plugin);
 * assert.deepEqual(await h.call("greet", { name: "Ada" }), { message: "Hello, Ada" });
 * ```
 */
export async function startPluginHarness(plugin: Plugin, options: ServePluginOptions = {}): Promise<PluginHarness> {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  let host: PluginHost;
  try {
    host = await servePlugin(plugin, nc, options);
  } catch (err) {
    await nc.close();
    await server.stop();
    throw err;
  }
  const base = versionSubjectBase(options.prefix ?? "sy", plugin.name, plugin.version);
  return {
    server,
    nc,
    host,
    async call(method, input, callOptions = {}) {
      const timeoutMs = callOptions.timeoutMs ?? 5_000;
      const headers = natsHeaders();
      headers.set(H_DEADLINE, String(Date.now() + timeoutMs));
      const reply = await nc.request(`${base}.${method}`, JSON.stringify(input), { timeout: timeoutMs, headers });
      const err = decodeWireError(reply.headers, reply.data);
      if (err !== undefined) {
        throw new SwitchyardError(err.code, err.message, { status: err.status, ...(err.issues ? { issues: err.issues } : {}) });
      }
      return reply.json();
    },
    stream(method, input, streamOptions = {}) {
      return { [Symbol.asyncIterator]: () => pullItems(nc, `${base}.${method}`, input, options.prefix ?? "sy", plugin.name, streamOptions.timeoutMs ?? 5_000) };
    },
    async [Symbol.asyncDispose]() {
      await host.drain({ timeoutMs: 1_000 });
      await nc.close();
      await server.stop();
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The items of one streaming call, pulled through a request mux of their own. */
async function* pullItems(nc: NatsConnection, subject: string, input: unknown, prefix: string, plugin: string, timeoutMs: number): AsyncGenerator<unknown, void, undefined> {
  const mux = new RequestMux(nc);
  const deadline = Date.now() + timeoutMs;
  const headers = new WireHeaders();
  headers.set(H_DEADLINE, String(deadline));
  headers.set(H_CHUNKS, "1");
  let pull: StreamPull | undefined;
  try {
    const first = await mux.request(subject, encoder.encode(JSON.stringify(input)), { headers, timeoutMs });
    if (first.stream !== "" && first.status === 0 && !isLastMessage(first)) {
      const instance = first.headers?.get(H_INSTANCE) ?? "";
      pull = new StreamPull(mux, first, {
        subject: streamSubject(instanceSubjectBase(prefix, plugin, instance), first.stream),
        window: 8,
        deadline,
        idleMs: 0,
        clock: systemClock,
      });
    }
    for (let reply: BusReply | undefined = first; reply !== undefined; reply = await pull?.next()) {
      const err = decodeWireError(reply.headers, reply.data);
      if (err !== undefined) throw new SwitchyardError(err.code, err.message, { status: err.status, ...(err.issues ? { issues: err.issues } : {}) });
      if (reply.data.length > 0) for (const line of decoder.decode(reply.data).split("\n")) yield JSON.parse(line);
    }
  } finally {
    if (pull !== undefined && !pull.done) pull.cancel("the test stopped reading");
    mux.close();
  }
}
