import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus, decodeWireError, H_DEADLINE, RequestMux, requestMessages, versionSubjectBase, WireHeaders } from "../bus/mod.ts";
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
      const call = { subject: `${base}.${method}`, input, prefix: options.prefix ?? "sy", plugin: plugin.name, timeoutMs: streamOptions.timeoutMs ?? 5_000 };
      return { [Symbol.asyncIterator]: () => pullItems(nc, call) };
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

/** The items of one streaming call, through a request mux of its own. */
async function* pullItems(
  nc: NatsConnection,
  call: { subject: string; input: unknown; prefix: string; plugin: string; timeoutMs: number },
): AsyncGenerator<unknown, void, undefined> {
  const { subject, input, prefix, plugin, timeoutMs } = call;
  const mux = new RequestMux(nc);
  const headers = new WireHeaders();
  headers.set(H_DEADLINE, String(Date.now() + timeoutMs));
  try {
    const data = encoder.encode(JSON.stringify(input));
    for await (const reply of requestMessages(mux, subject, data, { headers, prefix, plugin, timeoutMs, clock: systemClock })) {
      const err = decodeWireError(reply.headers, reply.data);
      if (err !== undefined) throw new SwitchyardError(err.code, err.message, { status: err.status, ...(err.issues ? { issues: err.issues } : {}) });
      if (reply.data.length > 0) for (const line of decoder.decode(reply.data).split("\n")) yield JSON.parse(line);
    }
  } finally {
    mux.close();
  }
}
