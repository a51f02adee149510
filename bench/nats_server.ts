/**
 * Starts a private nats-server for one benchmark run: config with `port: -1` and `ports_file_dir`,
 * then polls for the ports file to learn the URL. Never uses a server that is already running.
 * @module
 */
import process from "node:process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child } from "./child_procs.ts";

/** A running nats-server and its client URL. */
export interface NatsServer {
  readonly url: string;
  readonly child: Child;
  stop(): Promise<void>;
}

const BIN = process.env["NATS_SERVER_BIN"] ?? "nats-server";

// temporary config dirs still on disk; removed on exit too (Ctrl-C skips the normal stop())
const dirs = new Set<string>();
process.on("exit", () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts nats-server on a free loopback port; rejects if it has not written its ports file in time. */
export async function startNatsServer(timeoutMs = 10_000): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "sy-bench-nats-"));
  dirs.add(dir);
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `host: "127.0.0.1"\nport: -1\nports_file_dir: "${dir}"\n`);
  const child = new Child("nats-server", [BIN, "-c", conf], process.env);
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running) break;
    const file = readdirSync(dir).find((f) => f.endsWith(".ports"));
    if (file !== undefined && existsSync(join(dir, file))) {
      try {
        const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats?: string[] };
        const url = ports.nats?.[0];
        if (url !== undefined) return { url, child, stop };
      } catch {
        // the file is being written; read it again on the next poll
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const running = child.running;
  await stop();
  const why = child.tail.length > 0 ? `: ${child.tail.slice(-3).join(" / ")}` : "";
  const what = running ? `did not write its ports file within ${timeoutMs} ms` : "exited at start-up";
  throw new Error(`nats-server (${BIN}) ${what}${why}`);
}
