import type { MsgHdrs } from "@nats-io/nats-core";
import type { BusReply } from "../bus/mod.ts";

/** Why a retry was not made: the budget was spent, the deadline too near, or the circuit opened. */
export type RetryRefusal = "budget" | "deadline" | "breaker";

/**
 * What the pipeline tells about one call besides its result: metrics count retries, a tracer makes
 * a span per attempt. Every member is optional; most are called on failure paths only.
 */
export interface CallObserver {
  /** An attempt starts: a tracer opens its span and writes its context into `headers`. */
  startAttempt?(headers: MsgHdrs): unknown;
  /** The attempt `handle` (from `startAttempt`) ended with a reply (error replies included) or an error. */
  endAttempt?(handle: unknown, reply: BusReply | undefined, err: unknown): void;
  /** The attempt goes to `subject`: an instance's own, or the queue group's (`instance` undefined). */
  picked?(instance: string | undefined, subject: string): void;
  /** The picked instance was ejected as an outlier for `forMs`. */
  ejected?(instance: string, reason: string, forMs: number): void;
  /** Nobody listened where the attempt went: it was sent again to `subject` (it ran nowhere). */
  resent?(subject: string): void;
  /** Attempt `attempt` starts after `delayMs` of backoff; `reason` is the last failure's code. */
  retrying?(attempt: number, delayMs: number, reason: string): void;
  /** A retryable failure is returned as is: the budget was spent, the deadline too near, or the circuit opened. */
  retryRefused?(reason: RetryRefusal): void;
}
