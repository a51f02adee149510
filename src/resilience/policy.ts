import type { Clock } from "../deps.ts";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";

/** One resilience policy: runs `fn` under its rule. `signal` aborts the caller's wait. */
export interface Policy {
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** How an outcome moves a breaker: 5xx, timeouts and no-responders fail; 4xx are the caller's fault. */
export type Outcome = "success" | "failure" | "ignored";

/** The outcome of an error: a {@linkcode SwitchyardError} with status ≥ 500 (or any other error) fails, 4xx is ignored. */
export function outcomeOf(err: unknown): Outcome {
  if (isSwitchyardError(err)) return err.status >= 500 ? "failure" : "ignored";
  return "failure";
}

/** True for what a retry may help with: no responders, a 503, a timeout (504). Never a 4xx or a 502. */
export function isRetryableStatus(status: number, code: string): boolean {
  return status === 503 ? code !== ErrorCode.CircuitOpen && code !== ErrorCode.Overloaded && code !== ErrorCode.Draining
    : status === 504 || code === ErrorCode.PluginUnavailable || code === ErrorCode.Timeout;
}

/** {@linkcode isRetryableStatus} for a thrown error. */
export function isRetryable(err: unknown): boolean {
  return isSwitchyardError(err) && isRetryableStatus(err.status, err.code);
}

/**
 * Composes policies, outermost first: `wrap(rateLimit, breaker, bulkhead, retry, timeout)` runs
 * `fn` inside the timeout, inside the retry, and so on.
 */
export function wrap(...policies: Policy[]): Policy {
  return {
    execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      let run = fn;
      for (let i = policies.length - 1; i >= 0; i--) {
        const policy = policies[i]!;
        const inner = run;
        run = (s) => policy.execute(inner, s);
      }
      return run(signal ?? NEVER);
    },
  };
}

/** A signal that never aborts, for callers that pass none. */
export const NEVER: AbortSignal = new AbortController().signal;

/** Waits `ms` on `clock`; rejects with `timeout` when `signal` aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The error to throw when `signal` aborted: its reason if that is a SwitchyardError, else `timeout`. */
export function abortError(signal: AbortSignal): SwitchyardError {
  const reason: unknown = signal.reason;
  if (isSwitchyardError(reason)) return reason;
  return new SwitchyardError(ErrorCode.Timeout, "The deadline passed", { cause: reason });
}
