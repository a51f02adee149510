import { ErrorCode, isSwitchyardError } from "../errors.ts";
import type { Policy } from "./policy.ts";
import { NEVER } from "./policy.ts";

/**
 * Answers with a static value when the call is refused by an open circuit (only then: a fallback
 * must not hide real errors). Configured per method as `fallback: <JSON value>`.
 */
export class FallbackPolicy<F> implements Policy {
  readonly value: F;

  constructor(value: F) {
    this.value = value;
  }

  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal = NEVER): Promise<T> {
    try {
      return await fn(signal);
    } catch (err) {
      if (isSwitchyardError(err) && err.code === ErrorCode.CircuitOpen) return this.value as unknown as T;
      throw err;
    }
  }
}
