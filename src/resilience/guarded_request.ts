import type { MsgHdrs } from "@nats-io/nats-core";
import type { Clock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { H_ERROR_CODE, H_SERVICE_ERROR_CODE, isRequestLost } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { MethodPolicies } from "./plugin_policies.ts";
import type { Outcome } from "./policy.ts";
import { isRetryableStatus, sleep } from "./policy.ts";

/**
 * What {@linkcode guardedRequest} sends one attempt with (the router: its load balancer over the
 * `RequestMux`; a plugin's `ctx.call`: the mux). Made once, not per request.
 */
export interface Transport<C extends GuardedCall> {
  send(call: C, timeoutMs: number): Promise<BusReply>;
}

/** One call for {@linkcode guardedRequest}; transports add what they need to address it. */
export interface GuardedCall {
  headers: MsgHdrs;
  /** Absolute, epoch ms on `clock`; every attempt (and backoff) ends by then. */
  deadline: number;
  /** Idempotent method, `Idempotency-Key`, and not nested: retries allowed. */
  mayRetry: boolean;
  /** Told about retries (metrics, span events); called on failure paths only. */
  observer?: CallObserver | undefined;
}

/** What {@linkcode guardedRequest} reports besides its result. */
export interface CallObserver {
  /** Attempt `attempt` starts after `delayMs` of backoff; `reason` is the last failure's code. */
  retrying(attempt: number, delayMs: number, reason: string): void;
  /** A retryable failure is returned as is: the budget was spent, the deadline too near, or the circuit opened. */
  retryRefused(reason: "budget" | "deadline" | "breaker"): void;
}

/**
 * Breaker check → bulkhead → attempts with retry, all within `call.deadline`, without closures or
 * timers of its own on the success path (the mux's timer is the only one; a backoff or a queued
 * call costs one more). Resolves with the plugin's reply, an error reply included (4xx, or a
 * 5xx after the retries); rejects with `circuit_open`, `overloaded`, `timeout` or `plugin_unavailable`.
 * A 5xx reply, a timeout or no responders count as breaker failures; 4xx count as nothing.
 */
export async function guardedRequest<C extends GuardedCall>(
  transport: Transport<C>,
  policies: MethodPolicies,
  call: C,
  clock: Clock,
): Promise<BusReply> {
  const breaker = policies.breaker;
  if (breaker !== undefined && !breaker.tryAcquire()) throw breaker.rejection();
  const { bulkhead, budget } = policies.plugin;
  if (bulkhead !== undefined && !bulkhead.tryAcquire()) {
    if (!bulkhead.canQueue()) {
      breaker?.record("ignored");
      throw bulkhead.rejection();
    }
    try {
      await bulkhead.wait(call.deadline);
    } catch (err) {
      breaker?.record("ignored");
      throw err;
    }
  }
  const retry = policies.retry;
  const maxAttempts = call.mayRetry ? retry.settings.maxAttempts : 1;
  budget.begin();
  let held = false;
  try {
    for (let attempt = 1;; attempt++) {
      let reply: BusReply | undefined;
      let failure: SwitchyardError | undefined;
      let status = 0;
      let code = "";
      const left = call.deadline - clock.now();
      if (left <= 0) {
        // Only after a backoff: the first attempt always has time left.
        failure = new SwitchyardError(ErrorCode.Timeout, `No reply from "${policies.plugin.name}" before the deadline`);
        status = 504;
      } else {
        try {
          reply = await transport.send(call, left);
          const h = reply.headers;
          if (h !== undefined) {
            const statusText = h.get(H_SERVICE_ERROR_CODE);
            if (statusText !== "") {
              status = Number.parseInt(statusText, 10) || 500;
              code = h.get(H_ERROR_CODE);
            }
          }
        } catch (err) {
          failure = err as SwitchyardError;
          status = failure.status ?? 500;
          code = failure.code ?? "";
        }
      }
      if (held) {
        budget.release();
        held = false;
      }
      // A request aborted by a drain is the router's doing, and one lost with an instance that died
      // says nothing of the instances still running (the dead one is already out of the rotation).
      const outcome: Outcome = status === 0
        ? "success"
        : status >= 500 && code !== ErrorCode.Draining && !isRequestLost(failure)
        ? "failure"
        : "ignored";
      breaker?.record(outcome);
      if (
        outcome !== "failure" || attempt >= maxAttempts || !isRetryableStatus(status, code) ||
        (breaker !== undefined && breaker.state !== "closed")
      ) {
        if (failure !== undefined) throw failure;
        return reply!;
      }
      const delay = retry.delayMs(attempt);
      const refused = clock.now() + delay >= call.deadline ? "deadline" : budget.tryAcquire() ? undefined : "budget";
      if (refused !== undefined) {
        call.observer?.retryRefused(refused);
        if (failure !== undefined) throw failure;
        return reply!;
      }
      held = true;
      call.observer?.retrying(attempt + 1, delay, code || String(status));
      if (delay > 0) await sleep(clock, delay);
      // Another request may have opened the circuit during the backoff.
      if (breaker !== undefined && !breaker.tryAcquire()) {
        call.observer?.retryRefused("breaker");
        if (failure !== undefined) throw failure;
        return reply!;
      }
    }
  } finally {
    if (held) budget.release();
    budget.end();
    bulkhead?.release();
  }
}
