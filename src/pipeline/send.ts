import { codeOf, ErrorCode, statusOf, SwitchyardError } from "../errors.ts";
import type { Clock } from "../deps.ts";
import { BusTimeoutError, isBusError, needsChunks } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { InstanceEntry, VersionEntry } from "../registry/mod.ts";
import { isAvailable, recordLatency } from "../balancing/mod.ts";
import type { Outcome } from "../resilience/mod.ts";
import type { Call, SendContext, Target } from "./types.ts";
import { completeReply, sendInChunks } from "./exchange.ts";

/** No responders costs nothing to resend (the request ran nowhere), but not forever. */
const MAX_RESENDS = 4;

/** What a retry may help with: no responders, a 503 other than a refusal, a timeout. Never a 4xx or a 502. */
export function isRetryableStatus(status: number, code: string): boolean {
  return status === 503
    ? code !== ErrorCode.CircuitOpen && code !== ErrorCode.Overloaded && code !== ErrorCode.Draining
    : status === 504 || code === ErrorCode.PluginUnavailable || code === ErrorCode.Timeout;
}

/** Waits `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * The send step of `RequestPipeline`: breaker check → bulkhead → attempts, all within
 * `call.deadline`, without closures or timers of its own on the success path.
 *
 * How an attempt's outcome counts:
 * - a success, or a 4xx reply (the caller's fault): the instance answered; nothing fails;
 * - a 5xx reply or a timeout: a failure of the instance (outlier ejection), and of the plugin
 *   (breaker) — unless another available instance of the version answered well lately, because
 *   then ejection cures it and the plugin as a whole is fine;
 * - no responders on an instance's own subject: it is gone; it is ejected, the other requests
 *   waiting on it fail at once, and this one is resent elsewhere (it ran nowhere);
 * - no responders on a version's queue subject: the version is empty; resent to another version the
 *   range allows, else a breaker failure;
 * - lost with its instance, or with this side's connection: not the plugin's fault; retried when allowed.
 */
export async function sendWithRetries(pipeline: SendContext, target: Target, call: Call): Promise<BusReply> {
  const policies = target.policies;
  const breaker = policies.breaker;
  if (breaker !== undefined && !breaker.tryAcquire()) {
    if (policies.fallback !== undefined) return { data: policies.fallback, headers: undefined, status: 0, code: "", stream: "", fallback: true };
    throw breaker.rejection();
  }
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
  budget.begin();
  try {
    return await attempts(pipeline, target, call);
  } finally {
    budget.end();
    bulkhead?.release();
  }
}

async function attempts(pipeline: SendContext, target: Target, call: Call): Promise<BusReply> {
  const { clock, mux, balancing, registry } = pipeline;
  const { policies, plugin, method } = target;
  const { breaker, retry } = policies;
  const budget = policies.plugin.budget;
  const observer = call.observer;
  const maxAttempts = call.mayRetry ? retry.settings.maxAttempts : 1;
  let version = target.version;
  /** The version's queue subject of the method (it changes with the version on a resend). */
  let queueSubject = method.subject;
  let avoid: InstanceEntry | undefined;
  /** An instance nobody listened on: never tried again by this request, whatever the balancer says. */
  let gone: InstanceEntry | undefined;
  let held = false;
  let resends = 0;
  try {
    for (let attempt = 1;;) {
      const startedAt = clock.now();
      const left = call.deadline - startedAt;
      let reply: BusReply | undefined;
      let err: unknown;
      let instance: InstanceEntry | undefined;
      let subject = queueSubject;
      if (left <= 0) {
        // Only after a backoff or a resend: the first attempt always has time left.
        err = new BusTimeoutError(method.subject, 0);
      } else {
        const picked = balancing.pick(plugin, version, startedAt, avoid);
        instance = picked === gone || picked === null ? undefined : picked;
        if (picked === null) {
          err = new SwitchyardError(ErrorCode.PluginUnavailable, `No instance of "${plugin}" is available in this router's region`);
        } else if (instance !== undefined) {
          subject = instance.subjects.get(method.name) ?? instanceSubject(instance, method.name);
        } else if (allUnhealthy(version.live)) {
          err = new SwitchyardError(ErrorCode.PluginUnavailable, `Every instance of "${plugin}@${version.version}" reports unhealthy`);
        }
        if (err === undefined) {
          const handle = observer?.startAttempt?.(call.headers);
          observer?.picked?.(instance?.id, subject);
          if (instance !== undefined) {
            instance.pending++;
            pipeline.stalls.watch(instance);
          }
          try {
            const timeoutMs = call.attemptTimeoutMs === undefined ? left : Math.min(left, call.attemptTimeoutMs);
            const first = call.body !== undefined || needsChunks(call.data, call.headers, mux.maxPayload)
              ? await sendInChunks(pipeline, { plugin, subject }, call, timeoutMs)
              : await mux.request(subject, call.data, { headers: call.headers, timeoutMs, tag: plugin });
            // A reply that names a session comes in chunks (a failure to get it whole is the
            // attempt's, not its first chunk), or is a stream's first message.
            reply = first.stream !== "" && first.status === 0 ? await completeReply(pipeline, plugin, call, first) : first;
          } catch (e) {
            err = e;
          }
          if (instance !== undefined) instance.pending--;
          observer?.endAttempt?.(handle, reply, err);
        }
      }
      if (held) {
        budget.release();
        held = false;
      }
      const settled = clock.now();
      let outcome: Outcome;
      let retryable: boolean;
      /**
       * This router's own NATS connection dropped: says nothing of the plugin, so a retry does not
       * draw on the plugin's retry budget (at most the requests in flight at the drop are retried).
       */
      let ownDrop = false;
      if (reply !== undefined) {
        const failed = reply.status >= 500 && reply.code !== ErrorCode.Draining;
        if (instance !== undefined) {
          instance.lastReplyAt = settled;
          recordLatency(instance, settled - startedAt);
          if (failed) instanceFailed(pipeline, target, version, instance, settled, false, observer);
          else {
            balancing.outliers.success(instance);
            instance.lastOkAt = settled;
          }
        }
        outcome = reply.status === 0 ? "success" : failed ? "failure" : "ignored";
        retryable = reply.status !== 0 && isRetryableStatus(reply.status, reply.code);
      } else if (isBusError(err) && err.unsent) {
        // Nobody listened: it ran nowhere, so sending it elsewhere is safe.
        if (instance !== undefined) {
          instanceFailed(pipeline, target, version, instance, settled, true, observer);
          pipeline.instanceDead(instance, "no responders on its own subject");
        }
        let elsewhere = resends < MAX_RESENDS;
        if (elsewhere && instance === undefined) {
          // The version's queue group is empty (its last instance drained away before this router saw
          // it go): any other version the range allows takes it.
          const next = registry.pick(plugin, target.range, version);
          const entry = next?.methods.get(method.name);
          if (next && entry !== undefined) {
            version = next;
            queueSubject = entry.subject;
          } else {
            elsewhere = false;
          }
        }
        if (elsewhere) {
          resends++;
          avoid = gone = instance;
          observer?.resent?.(subject);
          continue;
        }
        outcome = "failure";
        retryable = true;
      } else if (isBusError(err) && (err.failure === "lost" || err.failure === "disconnected")) {
        // Its instance died or this side's connection dropped: says nothing of the plugin.
        outcome = "ignored";
        retryable = true;
        ownDrop = err.failure === "disconnected";
      } else if (isBusError(err)) {
        if (instance !== undefined) {
          recordLatency(instance, settled - startedAt);
          instanceFailed(pipeline, target, version, instance, settled, false, observer);
        }
        outcome = "failure";
        retryable = true;
      } else {
        // Refused on this side (a drain's block, every instance unhealthy).
        outcome = codeOf(err) !== ErrorCode.Draining && statusOf(err) >= 500 ? "failure" : "ignored";
        retryable = false;
      }
      if (outcome === "failure" && instance !== undefined && hasHealthyPeer(version, instance, settled, breaker?.settings.windowMs ?? 10_000)) {
        outcome = "ignored";
      }
      breaker?.record(outcome);
      if (!retryable || attempt >= maxAttempts || (breaker !== undefined && breaker.state !== "closed")) return settle(reply, err);
      const delay = retry.delayMs(attempt);
      const refused = settled + delay >= call.deadline ? "deadline" : ownDrop || budget.tryAcquire() ? undefined : "budget";
      if (refused !== undefined) {
        observer?.retryRefused?.(refused);
        return settle(reply, err);
      }
      held = !ownDrop;
      attempt++;
      observer?.retrying?.(attempt, delay, reply?.code || codeOf(err));
      if (delay > 0) await sleep(clock, delay);
      // Another request may have opened the circuit during the backoff.
      if (breaker !== undefined && !breaker.tryAcquire()) {
        observer?.retryRefused?.("breaker");
        return settle(reply, err);
      }
      avoid = instance;
    }
  } finally {
    if (held) budget.release();
  }
}

function settle(reply: BusReply | undefined, err: unknown): BusReply {
  if (reply !== undefined) return reply;
  throw err;
}

function instanceSubject(instance: InstanceEntry, method: string): string {
  const subject = `${instance.subjectBase}.${method}`;
  instance.subjects.set(method, subject);
  return subject;
}

/** Reports a failure to the outlier policy and logs an ejection. */
function instanceFailed(
  pipeline: SendContext,
  target: Target,
  version: VersionEntry,
  instance: InstanceEntry,
  now: number,
  gone: boolean,
  observer: Call["observer"],
): void {
  if (!pipeline.balancing.outliers.failure(instance, version.live, now, gone)) return;
  const reason = gone ? "no responders" : "consecutive failures";
  const forMs = instance.ejectedUntil - now;
  pipeline.logger.warn("instance ejected", { plugin: target.plugin, version: version.version, instance: instance.id, ejections: instance.ejections, forMs, reason });
  observer?.ejected?.(instance.id, reason, forMs);
}

/**
 * Another instance of the version takes traffic and has not failed: its last answer, within
 * `horizonMs`, was good, or its first answers are still on their way (right after a start a fast
 * failing instance answers many times before a healthy one answers once). Then the failing instance
 * is the problem, and ejection, not the plugin's breaker, deals with it.
 */
function hasHealthyPeer(version: VersionEntry, failed: InstanceEntry, now: number, horizonMs: number): boolean {
  const live = version.live;
  const ctx = { now, random: Math.random, avoid: failed };
  for (let i = 0; i < live.length; i++) {
    const peer = live[i]!;
    if (peer.failures !== 0) continue;
    const answering = peer.lastOkAt >= now - horizonMs || (peer.lastReplyAt === 0 && peer.pending > 0);
    if (answering && isAvailable(peer, ctx)) return true;
  }
  return false;
}

function allUnhealthy(instances: readonly InstanceEntry[]): boolean {
  if (instances.length === 0) return false;
  for (let i = 0; i < instances.length; i++) if (instances[i]!.health !== "unhealthy") return false;
  return true;
}
