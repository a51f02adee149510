/**
 * Private helpers of the nats-server launcher: find the binary, write the config, read the
 * ports file, probe TCP and the monitoring endpoint.
 * @module
 */

import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import process from "node:process";

/** The `<name>_<pid>.ports` JSON that nats-server writes into `ports_file_dir`. */
export interface PortsFile {
  nats: string[];
  websocket?: string[];
  cluster?: string[];
  monitoring?: string[];
}

/** What goes into the generated config file. */
export interface ConfigParts {
  /** The client port. @default -1 (the server picks a free one) */
  port?: number | undefined;
  dir: string;
  websocket: boolean;
  monitoring: boolean;
  cluster?: { name: string; routes: readonly string[] } | undefined;
  extra?: string | undefined;
}

const INSTALL_HINT =
  "install it with `apt-get install nats-server` (Debian/Ubuntu), run scripts/bootstrap.sh, " +
  "or download a release from https://github.com/nats-io/nats-server/releases and set NATS_SERVER_BIN";

/**
 * The nats-server executable: `explicit`, else `$NATS_SERVER_BIN`, else the first on PATH, else
 * `/usr/sbin` or `/usr/local/sbin`.
 * @throws {Error} naming how to install nats-server when none is found.
 */
export function findNatsServerBin(explicit?: string): string {
  const configured = explicit ?? process.env["NATS_SERVER_BIN"];
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new Error(
      `nats-server at "${configured}" (NATS_SERVER_BIN) is not an executable file; ${INSTALL_HINT}`,
    );
  }
  // Debian's package installs into /usr/sbin, which a normal user's PATH leaves out.
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const candidate = join(dir || ".", "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(`nats-server was not found on PATH and NATS_SERVER_BIN is not set; ${INSTALL_HINT}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The config text: loopback only, every port picked by the server (-1), ports file in `dir`. */
export function buildConfig(parts: ConfigParts): string {
  const lines = [`port: ${parts.port ?? -1}`, "host: 127.0.0.1", `ports_file_dir: ${JSON.stringify(parts.dir)}`];
  if (parts.monitoring) lines.push("http_port: -1");
  if (parts.websocket) lines.push("websocket {", "  host: 127.0.0.1", "  port: -1", "  no_tls: true", "}");
  if (parts.cluster) {
    lines.push("cluster {", `  name: ${JSON.stringify(parts.cluster.name)}`, "  listen: 127.0.0.1:-1");
    if (parts.cluster.routes.length > 0) {
      lines.push("  routes: [", ...parts.cluster.routes.map((r) => `    ${JSON.stringify(r)}`), "  ]");
    }
    lines.push("}");
  }
  if (parts.extra) lines.push(parts.extra);
  return lines.join("\n") + "\n";
}

/** Reads `*_<pid>.ports` in `dir`; undefined while it is missing or half written. */
export function readPortsFile(dir: string, pid: number): PortsFile | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
  if (!file) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(join(dir, file), "utf8")) as Partial<PortsFile>;
    return Array.isArray(parsed.nats) && parsed.nats.length > 0 ? parsed as PortsFile : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves true when a TCP connection to `host:port` succeeds, false when it is refused. */
export function probeTcp(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** `num_routes` from the monitoring endpoint's `/routez`. */
export async function fetchNumRoutes(monitorUrl: string): Promise<number> {
  const res = await fetch(`${monitorUrl}/routez`);
  const body = (await res.json()) as { num_routes?: number };
  return body.num_routes ?? 0;
}
