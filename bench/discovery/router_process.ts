/**
 * One `switchyard router` process for the discovery benchmark (through `bin/switchyard`, so it is
 * the CLI a user runs), and how many instances it knows, read from its own log: it logs
 * `instance joined` for each instance it admits, and `instance left`/`lost` or `instances went silent
 * and were removed` (with a count) for those it drops. Reading the log costs the router nothing it
 * does not do anyway; `GET /v1/plugins` confirms the count at the end of each window.
 * @module
 */
import process from "node:process";
import { Child } from "../child_procs.ts";
import { cpuTimeUs } from "../proc_stats.ts";
import type { RuntimeName } from "../scenarios.ts";

/** Where a router runs and what it reads. */
export interface RouterSpec {
  runtime: RuntimeName;
  natsUrl: string;
  /** The router's config file (it holds the discovery settings under test). */
  configPath: string;
  name: string;
  /** The instances it should come to know: when it first knows this many is recorded (see `whenKnowsAll`). */
  target: number;
}

/** When a router reached a count of known instances: wall time since spawn and its CPU time then. */
export interface Reached {
  ms: number;
  cpuMs: number;
}

/** A running router and the instances it knows. */
export class RouterProcess {
  readonly child: Child;
  readonly spawnedAt = performance.now();
  /** Wall ms from spawn to its `router ready` line (discovery's first poll is done before it). */
  readyMs: number | undefined;
  /** Base URL of its HTTP server, from the `router ready` line. */
  url: string | undefined;
  /** Instances known, from its log. */
  known = 0;
  /** Admissions so far (an instance dropped and found again counts again). */
  joins = 0;
  /** Instances dropped so far because they did not answer its health checks for a few polls. */
  silentDrops = 0;
  /** Whether it logged any admission: a router that does not log them is counted over HTTP. */
  logsJoins = false;
  /** When it first knew `target` instances. */
  #reached: Reached | undefined;
  readonly #target: number;
  readonly #waiters = new Set<(r: Reached) => void>();

  constructor(spec: RouterSpec) {
    this.#target = spec.target;
    const argv = [
      "bin/switchyard",
      "router",
      "--config",
      spec.configPath,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
    ];
    argv.push("--nats", spec.natsUrl);
    this.child = new Child(spec.name, argv, { ...process.env, SWITCHYARD_RUNTIME: spec.runtime });
    this.child.onLine((line) => this.#onLine(line));
  }

  get pid(): number {
    return this.child.pid;
  }

  /** CPU time used so far, µs. */
  cpuUs(): number {
    return cpuTimeUs(this.pid);
  }

  /** Resolves once it printed `router ready`. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.url === undefined) await this.child.waitFor(/"router ready"/, timeoutMs);
  }

  /**
   * Resolves with when it first knew all `target` instances (time since spawn, and its CPU time
   * then), which may be before this call; `undefined` after `timeoutMs`. A router that logs no
   * admissions (a discovery mode that does not) is asked `GET /v1/plugins` once a second instead.
   */
  async whenKnowsAll(timeoutMs: number): Promise<Reached | undefined> {
    if (this.#reached !== undefined) return this.#reached;
    let waiter: ((r: Reached) => void) | undefined;
    const byLog = new Promise<Reached>((resolve) => this.#waiters.add(waiter = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    const byTimeout = new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), timeoutMs)
    );
    const byHttp = new Promise<Reached>((resolve) => {
      poll = setInterval(async () => {
        if (this.logsJoins || this.url === undefined) return;
        const n = await this.fetchKnown().catch(() => 0);
        if (n >= this.#target) resolve(this.#reached ??= this.#now());
      }, 1_000);
    });
    try {
      return await Promise.race([byLog, byTimeout, byHttp]);
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      this.#waiters.delete(waiter!);
    }
  }

  /** Live (not draining) instances listed by `GET /v1/plugins`. */
  async fetchKnown(): Promise<number> {
    const res = await fetch(`${this.url}/v1/plugins`, { signal: AbortSignal.timeout(30_000) });
    const body = await res.json() as { plugins: { versions: { instances: { draining: boolean }[] }[] }[] };
    let n = 0;
    for (const p of body.plugins) {
      for (const v of p.versions) n += v.instances.filter((i) => !i.draining).length;
    }
    return n;
  }

  stop(): Promise<void> {
    return this.child.stop(5_000);
  }

  #onLine(line: string): void {
    if (!line.startsWith("{")) return;
    let entry: { msg?: unknown; count?: unknown; url?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    switch (entry.msg) {
      case "router ready":
        this.readyMs = performance.now() - this.spawnedAt;
        this.url = String(entry.url);
        return;
      case "instance joined":
        this.logsJoins = true;
        this.known++;
        this.joins++;
        break;
      case "instance left":
      case "instance lost":
        this.known--;
        return;
      case "instances went silent and were removed":
        this.known -= Number(entry.count) || 0;
        this.silentDrops += Number(entry.count) || 0;
        return;
      default:
        return;
    }
    if (this.#reached === undefined && this.known >= this.#target) {
      const reached = this.#reached = this.#now();
      for (const resolve of this.#waiters) resolve(reached);
      this.#waiters.clear();
    }
  }

  #now(): Reached {
    return { ms: performance.now() - this.spawnedAt, cpuMs: this.cpuUs() / 1000 };
  }
}
