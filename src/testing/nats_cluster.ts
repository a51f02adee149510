/**
 * Starts a cluster of real nats-servers on loopback, fully meshed before it returns.
 * @module
 */

import { fetchNumRoutes } from "./_nats_files.ts";
import { type NatsServer, type NatsServerOptions, startNatsServer } from "./nats_server.ts";
import { waitFor } from "./wait.ts";

/** Options for {@linkcode startNatsCluster}: those of every server, plus the cluster name. */
export interface NatsClusterOptions extends Omit<NatsServerOptions, "cluster" | "monitoring"> {
  /** The cluster name. @default "switchyard-test" */
  name?: string;
}

/** A running cluster; each server can be stopped or kill -9'd on its own. */
export interface NatsCluster extends AsyncDisposable {
  readonly servers: readonly NatsServer[];
  /** The client URLs, one per server, in start order. */
  readonly urls: string[];
  /** Stops every server still running. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers that route to each other and waits until every server reports
 * `size - 1` routes on its monitoring endpoint (`/routez`).
 *
 * Each server lets the OS pick its route port and lists the route URLs of the servers started
 * before it; routes are bidirectional, so this forms a full mesh without guessing free ports.
 * @throws {Error} when a server does not start or the mesh does not form within `startTimeoutMs`;
 *   servers already started are stopped first.
 * @example
 * ```ts
 * await using cluster = await startNatsCluster(3);
 * const a = await connect({ servers: cluster.urls[0] });
 * await cluster.servers[1]!.kill9();
 * ```
 */
export async function startNatsCluster(size = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Cannot start a cluster of ${size} servers: must be an integer >= 1`);
  }
  const { name = "switchyard-test", ...serverOptions } = options;
  const servers: NatsServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      const routes = servers.map((s) => s.routeUrl!);
      servers.push(await startNatsServer({ ...serverOptions, monitoring: true, cluster: { name, routes } }));
    }
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    await Promise.all(
      servers.map((s, i) =>
        waitFor(async () => (await fetchNumRoutes(s.monitorUrl!)) >= size - 1, {
          timeoutMs,
          intervalMs: 20,
          message: `server ${i} (${s.url}) to report ${size - 1} routes`,
        })
      ),
    );
  } catch (err) {
    const logs = servers.map((s, i) => `--- server ${i} (${s.url}):\n${s.logs().join("\n")}`).join("\n");
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`nats cluster of ${size} did not form: ${reason}${logs ? `\n${logs}` : ""}`, {
      cause: err,
    });
  }
  return { servers, urls: servers.map((s) => s.url), stop, [Symbol.asyncDispose]: stop };
}
