/** One measured (or skipped, or failed) line of the results table. */
import type { LoadResult } from "./load_result.ts";
import type { Role, RuntimeName } from "./scenarios.ts";

/** A process column: a scenario role, the nats-server, or the load generator. */
export type Column = Role | "nats" | "load";

export interface Row {
  scenario: string;
  runtime: RuntimeName;
  concurrency: number;
  /** Which repetition (`--repeat`) this row comes from, from 1. */
  rep?: number;
  status: "ok" | "failed" | "skipped";
  note: string;
  result?: LoadResult;
  /** CPU µs (user + system) per successful request, per process, over the measured window. */
  cpuUsPerReq?: Partial<Record<Column, number>>;
  /** VmRSS at the end of the measured window. */
  rssMiB?: Partial<Record<Column, number>>;
  /** Busy CPUs of the whole machine during the window, and the part not used by this run. */
  host?: { busyCores: number; otherCores: number };
}
