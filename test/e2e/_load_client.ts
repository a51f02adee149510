import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess, waitFor } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";

const SCRIPT = fileURLToPath(new URL("./_load_process.ts", import.meta.url));

/** One request of a load run. Times are epoch ms (the same clock as the test's `Date.now()`). */
export interface LoadRecord {
  start: number;
  end: number;
  /** 0 when the connection failed. */
  status: number;
  /** `x-plugin-version` and `x-plugin-instance` of a 200. */
  version: string;
  instance: string;
  /** The error code of a non-200 (`fetch: …` for a failed connection). */
  code: string;
  /** A non-200 whose body was a JSON error with a code. */
  clean: boolean;
  /** The asked-for field of a 200 body. */
  field: unknown;
}

/** Options of {@linkcode startLoad}. */
export interface LoadOptions {
  url: string;
  /** @default 16 */
  concurrency?: number;
  durationMs: number;
  maxRequests?: number;
  body?: unknown;
  headers?: Record<string, string>;
  field?: string;
}

/** A load generator running in its own process. */
export interface LoadRun {
  readonly proc: ProcessHandle;
  /** Resolves once the first response came back. */
  readonly running: Promise<void>;
  /** Resolves with every request when the run ends (by its bounds, or by `stop()`). */
  readonly result: Promise<LoadRecord[]>;
  /** Ends the run early (in-flight requests finish) and resolves with its records. */
  stop(): Promise<LoadRecord[]>;
  /** Responses so far, as last reported (in steps of 25). */
  done(): number;
  /**
   * Resolves once the load reported `more` responses than now, the last of them answered at
   * `after` (epoch ms) or later: a test lets the load go on past an event before it stops it.
   */
  waitForMore(more: number, after?: number, timeoutMs?: number): Promise<void>;
}

/** Starts `test/e2e/_load_process.ts` under this runtime. */
export function startLoad(options: LoadOptions): LoadRun {
  const spec = { concurrency: 16, ...options };
  const proc = spawnProcess(runtimeCommand(currentRuntime(), SCRIPT, [JSON.stringify(spec)]), { name: "load", maxLines: 50 });
  const result = proc.waitForLine("LOAD_RESULT ", spec.durationMs + 30_000).then((line) => {
    const raw = JSON.parse(line.slice("LOAD_RESULT ".length)) as { records: [number, number, number, string, string, string, boolean, unknown][] };
    return raw.records.map(([start, end, status, version, instance, code, clean, field]) => ({ start, end, status, version, instance, code, clean, field }));
  });
  const progress = (): { n: number; at: number } => {
    for (let i = proc.lines.length - 1; i >= 0; i--) {
      const m = /^load: (\d+) done at (\d+)$/.exec(proc.lines[i]!);
      if (m !== null) return { n: Number(m[1]), at: Number(m[2]) };
    }
    return { n: 0, at: 0 };
  };
  const done = () => progress().n;
  return {
    proc,
    running: proc.waitForLine("load: running", 20_000).then(() => {}),
    result,
    stop() {
      proc.kill("SIGTERM");
      return result;
    },
    done,
    waitForMore(more, after = 0, timeoutMs = 20_000) {
      const target = done() + more;
      return waitFor(() => {
        const p = progress();
        return p.n >= target && p.at >= after;
      }, { timeoutMs, intervalMs: 5, message: `${more} more responses from the load${after > 0 ? ` answered after ${new Date(after).toISOString()}` : ""}` });
    },
  };
}

/** The non-200 records. */
export const failuresOf = (records: readonly LoadRecord[]): LoadRecord[] => records.filter((r) => r.status !== 200);

/** `200×1234, 503×2 (draining)` for logs and assertion messages. */
export function describeLoad(records: readonly LoadRecord[]): string {
  const by = new Map<string, number>();
  for (const r of records) {
    const key = r.status === 200 ? "200" : `${r.status} ${r.code}`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return `${records.length} requests: ${[...by].map(([k, n]) => `${k}×${n}`).join(", ")}`;
}
