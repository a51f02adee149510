import type { Clock, Logger } from "../deps.ts";
import type { Instance } from "./instance.ts";
import type { PluginExit } from "./plugin_process.ts";
import type { PluginSpec } from "./plugin_specs.ts";
import { RestartPolicy } from "./restart_policy.ts";
import type { RestartSettings } from "./restart_policy.ts";
import type { ResolvedSupervisorOptions } from "./options.ts";
import { ignoredOptions } from "./options_outcome.ts";
import type { OptionsOutcome } from "./options_outcome.ts";

/** Whether a new instance came up, and if not, why. */
export type ReadyResult = { ok: true; version: string } | { ok: false; reason: string };

/** What a {@linkcode PluginGroup} needs from its supervisor. */
export interface GroupContext {
  readonly clock: Clock;
  readonly logger: Logger;
  settings(): ResolvedSupervisorOptions;
  /** Starts one instance of `spec` (the one start path: `startPluginProcess`). */
  spawn(spec: PluginSpec, slot: number, optionsRevision: number): Instance;
  /** Waits until it answered discovery (its `started` event) and its health is not unhealthy. */
  waitReady(instance: Instance): Promise<ReadyResult>;
  /** Sends new options over the control subject; `options` is what the instance says is now in force. */
  pushOptions(instance: Instance, options: unknown): Promise<{ ok: true; options?: unknown } | { ok: false; message: string }>;
  /** Tells routers that an instance died without draining. */
  lost(instance: Instance): void;
}

/** The outcome of a blue-green reload. */
export interface ReloadReport {
  plugin: string;
  ok: boolean;
  reason: string;
  /** Why it failed: the new code did not start or is unhealthy; the old instances kept serving. */
  error?: string;
  instances: string[];
  version?: string;
  /** From the start of the reload (or the file change, when `changedAt` was given) until the new instances were ready. */
  readyMs?: number;
  /** ...until the old instances were told to drain: from then on every new request goes to the new code. */
  switchMs?: number;
  /** ...until the old instances had drained and exited. */
  totalMs?: number;
}

/** One instance place of a plugin, across restarts. */
interface Slot {
  index: number;
  instance: Instance | undefined;
  policy: RestartPolicy;
  restarts: number;
  /** A restart is scheduled (backoff). */
  restartTimer: unknown;
  restartAt: number | undefined;
  stableTimer: unknown;
  lastExit: (PluginExit & { at: number }) | undefined;
}

/** What `switchyard ps` shows of an instance (or an empty slot waiting to restart). */
export interface InstanceView {
  plugin: string;
  slot: number;
  id: string | undefined;
  pid: number | undefined;
  runtime: string;
  version: string | undefined;
  state: string;
  startedAt: string | undefined;
  uptimeMs: number;
  restarts: number;
  crashLoop: boolean;
  lastExit: { code: number | null; signal: string | null; at: string } | undefined;
}

function restartSettings(s: ResolvedSupervisorOptions): RestartSettings {
  return {
    baseDelayMs: s.restart.baseDelayMs,
    maxDelayMs: s.restart.maxDelayMs,
    stableAfterMs: s.restart.stableAfterMs,
    crashLoopRestarts: s.crashLoop.restarts,
    crashLoopWindowMs: s.crashLoop.windowMs,
  };
}

/**
 * The instances of one plugin: keeps `replicas` of them running, restarts crashed ones with
 * backoff and reports crash loops, replaces them blue-green on reload, scales, and pushes options.
 */
export class PluginGroup {
  spec: PluginSpec;
  readonly #ctx: GroupContext;
  readonly #slots: Slot[] = [];
  #optionsRevision = 0;
  #stopped = false;
  #reloading: Promise<ReloadReport> | undefined;
  #queued: { reason: string; changedAt: number | undefined; resolve: (r: ReloadReport) => void; promise: Promise<ReloadReport> } | undefined;

  constructor(spec: PluginSpec, ctx: GroupContext) {
    this.spec = spec;
    this.#ctx = ctx;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Starts `replicas` instances; resolves once each is ready, or false when one is not (it keeps restarting). */
  async start(): Promise<boolean> {
    const started = Array.from({ length: this.spec.replicas }, () => this.#spawnInto(this.#newSlot()));
    const results = await Promise.all(started.map((i) => this.#ready(i)));
    return results.every((r) => r.ok);
  }

  /** Resolves once every slot has a ready instance (or `timeoutMs` passed: false). */
  async whenReady(timeoutMs: number): Promise<boolean> {
    const deadline = this.#ctx.clock.now() + timeoutMs;
    while (!this.#stopped) {
      if (this.#slots.every((s) => s.instance?.state === "running")) return true;
      if (this.#ctx.clock.now() >= deadline) return false;
      await new Promise<void>((resolve) => this.#ctx.clock.setTimeout(() => resolve(), 25));
    }
    return false;
  }

  /** Applies a config change of the restart settings to the slots' backoff. */
  updateSettings(): void {
    const settings = restartSettings(this.#ctx.settings());
    for (const slot of this.#slots) slot.policy.settings = settings;
  }

  /** Keeps `replicas` instances: starts new slots or drains the highest ones. */
  async scale(replicas: number): Promise<void> {
    this.spec = { ...this.spec, replicas };
    const starting: Promise<ReadyResult>[] = [];
    while (this.#slots.length < replicas) starting.push(this.#ready(this.#spawnInto(this.#newSlot())));
    const removed = this.#slots.splice(replicas);
    this.#ctx.logger.info("scaling", { plugin: this.name, replicas, starting: starting.length, stopping: removed.length });
    await Promise.all([...starting, ...removed.map((slot) => this.#retireSlot(slot))]);
  }

  /**
   * Blue-green: starts a new set of instances (of `next`, else of the current spec), waits until
   * they answer discovery and health, tells the old ones to drain (routers stop picking them at
   * once) and waits for them to exit. If the new ones fail, they are stopped and the old ones
   * keep serving. A reload asked for while one runs runs once more after it (with the latest code).
   */
  reload(reason: string, options: { next?: PluginSpec; changedAt?: number } = {}): Promise<ReloadReport> {
    if (options.next !== undefined) this.spec = options.next;
    if (this.#reloading !== undefined) {
      if (this.#queued === undefined) {
        let resolve!: (r: ReloadReport) => void;
        const promise = new Promise<ReloadReport>((r) => resolve = r);
        this.#queued = { reason, changedAt: options.changedAt, resolve, promise };
      }
      return this.#queued.promise;
    }
    const run = this.#reload(reason, options.changedAt).finally(() => {
      this.#reloading = undefined;
      const queued = this.#queued;
      this.#queued = undefined;
      if (queued !== undefined && !this.#stopped) void this.reload(queued.reason, queued.changedAt === undefined ? {} : { changedAt: queued.changedAt }).then(queued.resolve);
      else queued?.resolve({ plugin: this.name, ok: false, reason: queued.reason, error: "the supervisor is stopping", instances: [] });
    });
    this.#reloading = run;
    return run;
  }

  /**
   * Gives the running instances new options (the next request uses them). If an instance
   * rejects them (they fail the plugin's options schema), the previous ones stay everywhere.
   * Keys the plugin does not know are dropped by it: reported as `ignored`.
   */
  async setOptions(options: unknown): Promise<OptionsOutcome> {
    const previous = this.spec.options;
    this.spec = { ...this.spec, options };
    const revision = ++this.#optionsRevision;
    const targets = this.#slots.map((s) => s.instance).filter((i): i is Instance => i?.state === "running");
    const results = await Promise.all(targets.map((i) => this.#ctx.pushOptions(i, options)));
    const rejected = results.find((r) => !r.ok);
    if (rejected !== undefined && !rejected.ok) {
      this.spec = { ...this.spec, options: previous };
      const back = ++this.#optionsRevision;
      await Promise.all(targets.filter((_, k) => results[k]!.ok).map(async (i) => {
        if ((await this.#ctx.pushOptions(i, previous)).ok) i.optionsRevision = back;
      }));
      this.#ctx.logger.error("options rejected: the instances keep the previous ones", { plugin: this.name, problem: rejected.message });
      return { applied: false, message: rejected.message };
    }
    for (const i of targets) i.optionsRevision = revision;
    const inForce = results.find((r): r is { ok: true; options: unknown } => r.ok && r.options !== undefined)?.options;
    const ignored = inForce === undefined ? [] : ignoredOptions(options, inForce);
    this.#ctx.logger.info("options applied", { plugin: this.name, instances: targets.map((i) => i.id), ...(ignored.length > 0 ? { ignored } : {}) });
    if (ignored.length > 0) this.#ctx.logger.warn("options ignored: the plugin has no such options", { plugin: this.name, ignored });
    return { applied: true, ignored };
  }

  /** Drains and stops every instance; no more restarts. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#slots.splice(0).map((slot) => this.#retireSlot(slot)));
  }

  /** For `switchyard ps`. */
  views(): InstanceView[] {
    const now = this.#ctx.clock.now();
    return this.#slots.map((slot) => {
      const i = slot.instance;
      return {
        plugin: this.name,
        slot: slot.index,
        id: i?.id,
        pid: i?.pid,
        runtime: this.spec.runtime,
        version: i?.version,
        state: i === undefined ? (slot.policy.crashLoop ? "crash-loop" : "backoff") : slot.policy.crashLoop && i.state === "starting" ? "crash-loop" : i.state,
        startedAt: i === undefined ? undefined : new Date(i.startedAt).toISOString(),
        uptimeMs: i === undefined ? 0 : now - i.startedAt,
        restarts: slot.restarts,
        crashLoop: slot.policy.crashLoop,
        lastExit: slot.lastExit === undefined ? undefined : { code: slot.lastExit.code, signal: slot.lastExit.signal, at: new Date(slot.lastExit.at).toISOString() },
      };
    });
  }

  /** The instances now running (for tests and `ps`). */
  instances(): Instance[] {
    return this.#slots.map((s) => s.instance).filter((i): i is Instance => i !== undefined);
  }

  #newSlot(): Slot {
    const slot: Slot = {
      index: this.#slots.length,
      instance: undefined,
      policy: new RestartPolicy(restartSettings(this.#ctx.settings())),
      restarts: 0,
      restartTimer: undefined,
      restartAt: undefined,
      stableTimer: undefined,
      lastExit: undefined,
    };
    this.#slots.push(slot);
    return slot;
  }

  /** Starts an instance in `slot`, watching its exit. */
  #spawnInto(slot: Slot, spec: PluginSpec = this.spec): Instance {
    const instance = this.#ctx.spawn(spec, slot.index, this.#optionsRevision);
    slot.instance = instance;
    void instance.process.exit.then((exit) => this.#exited(slot, instance, exit));
    return instance;
  }

  /** Waits for `instance` to be ready; then arms its stable timer and catches up on options. */
  async #ready(instance: Instance): Promise<ReadyResult> {
    const result = await this.#ctx.waitReady(instance);
    if (!result.ok) return result;
    const slot = this.#slots.find((s) => s.instance === instance);
    if (slot !== undefined) this.#armStable(slot, instance);
    if (instance.optionsRevision !== this.#optionsRevision) {
      const pushed = await this.#ctx.pushOptions(instance, this.spec.options);
      if (pushed.ok) instance.optionsRevision = this.#optionsRevision;
    }
    return result;
  }

  #armStable(slot: Slot, instance: Instance): void {
    const clock = this.#ctx.clock;
    clock.clearTimeout(slot.stableTimer);
    slot.stableTimer = clock.setTimeout(() => {
      if (slot.instance === instance && slot.policy.stable()) {
        this.#ctx.logger.info("recovered from a crash loop", { plugin: this.name, slot: slot.index, instance: instance.id });
      }
    }, this.#ctx.settings().restart.stableAfterMs);
  }

  #exited(slot: Slot, instance: Instance, exit: PluginExit): void {
    instance.exitInfo = exit;
    const clean = exit.code === 0;
    instance.state = clean || instance.stopRequested ? "stopped" : "crashed";
    // Not the slot's current instance: a retired one, or a reload's candidate (handled there).
    if (slot.instance !== instance) return;
    const { clock, logger } = this.#ctx;
    const now = clock.now();
    slot.lastExit = { ...exit, at: now };
    clock.clearTimeout(slot.stableTimer);
    if (instance.stopRequested || this.#stopped) return;
    if (instance.readyAt !== undefined && !clean) this.#ctx.lost(instance);
    const ranMs = now - instance.startedAt;
    slot.instance = undefined;
    if (exit.refused === true) {
      logger.error("not restarted: it was refused (the reason is logged above); fix that (SIGHUP re-reads the allow-list), then reload the plugin", {
        plugin: this.name,
        instance: instance.id,
      });
      return;
    }
    let delayMs: number;
    if (clean) {
      // Drained by someone else (a SIGTERM not from us): bring it back, it is not a crash.
      delayMs = this.#ctx.settings().restart.baseDelayMs;
      logger.warn("instance stopped on its own: restarting", { plugin: this.name, instance: instance.id, restartInMs: delayMs });
    } else {
      const decision = slot.policy.crashed(now, ranMs);
      delayMs = decision.delayMs;
      const attrs = {
        plugin: this.name,
        instance: instance.id,
        code: exit.code,
        signal: exit.signal,
        ranMs,
        restartInMs: delayMs,
        reason: instance.reason(),
      };
      if (decision.enteredCrashLoop) {
        logger.error("crash loop: the plugin keeps crashing", {
          ...attrs,
          crashes: decision.recentCrashes,
          withinMs: slot.policy.settings.crashLoopWindowMs,
          lastLines: instance.lastLines(5),
        });
      } else logger.warn("instance crashed: restarting", attrs);
    }
    slot.restartAt = now + delayMs;
    slot.restartTimer = clock.setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restartAt = undefined;
      if (this.#stopped || !this.#slots.includes(slot) || slot.instance !== undefined) return;
      slot.restarts++;
      const next = this.#spawnInto(slot);
      void this.#ready(next).then((r) => {
        if (r.ok) logger.info("instance restarted", { plugin: this.name, instance: next.id, restarts: slot.restarts });
      });
    }, delayMs);
  }

  /** Drains and stops a slot's instance; cancels a pending restart. */
  async #retireSlot(slot: Slot): Promise<void> {
    const { clock } = this.#ctx;
    clock.clearTimeout(slot.restartTimer);
    clock.clearTimeout(slot.stableTimer);
    slot.restartTimer = undefined;
    const instance = slot.instance;
    if (instance !== undefined) await this.#stopInstance(instance);
  }

  /** SIGTERM (the instance drains), SIGKILL after its drain timeout and 5 s more. */
  async #stopInstance(instance: Instance): Promise<void> {
    if (instance.exitInfo !== undefined) return;
    instance.stopRequested = true;
    instance.state = "draining";
    const code = await instance.process.stop(this.#ctx.settings().drainTimeoutMs + 5_000);
    if (code !== 0 && instance.readyAt !== undefined) {
      const { signal } = await instance.process.exit;
      this.#ctx.logger.warn("instance did not drain cleanly", { plugin: this.name, instance: instance.id, code, signal });
      this.#ctx.lost(instance);
    }
  }

  async #reload(reason: string, changedAt: number | undefined): Promise<ReloadReport> {
    const { clock, logger } = this.#ctx;
    const t0 = changedAt ?? clock.now();
    const spec = this.spec;
    const since = () => clock.now() - t0;
    logger.info("reloading", { plugin: this.name, reason, replicas: spec.replicas });
    if (this.#stopped) return { plugin: this.name, ok: false, reason, error: "the supervisor is stopping", instances: [] };
    if (spec.replicas === 0) {
      await this.scale(0);
      return { plugin: this.name, ok: true, reason, instances: [], totalMs: since() };
    }
    // The new set, outside the slots until it is ready: its crashes are this reload's failure.
    const fresh = Array.from({ length: spec.replicas }, (_, i) => this.#ctx.spawn(spec, i, this.#optionsRevision));
    const results = await Promise.all(fresh.map((i) => this.#ctx.waitReady(i)));
    const failed = results.find((r): r is { ok: false; reason: string } => !r.ok);
    if (failed !== undefined || this.#stopped) {
      const error = failed?.reason ?? "the supervisor is stopping";
      logger.error("reload failed: the running instances keep serving", { plugin: this.name, reason, error });
      await Promise.all(fresh.map((i) => this.#stopInstance(i)));
      return { plugin: this.name, ok: false, reason, error, instances: fresh.map((i) => i.id) };
    }
    const readyMs = since();
    // Switch: the new instances take the slots; the old ones are retired (no restarts) and drain.
    const old: Instance[] = [];
    for (const slot of this.#slots.splice(spec.replicas)) {
      clock.clearTimeout(slot.restartTimer);
      clock.clearTimeout(slot.stableTimer);
      if (slot.instance !== undefined) old.push(slot.instance);
    }
    while (this.#slots.length < spec.replicas) this.#newSlot();
    fresh.forEach((instance, i) => {
      const slot = this.#slots[i]!;
      clock.clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      if (slot.instance !== undefined) old.push(slot.instance);
      slot.instance = instance;
      void instance.process.exit.then((exit) => this.#exited(slot, instance, exit));
      this.#armStable(slot, instance);
    });
    const switchMs = since();
    await Promise.all(old.map((i) => this.#stopInstance(i)));
    const totalMs = since();
    const version = results.find((r): r is { ok: true; version: string } => r.ok)?.version;
    const report: ReloadReport = { plugin: this.name, ok: true, reason, instances: fresh.map((i) => i.id), readyMs, switchMs, totalMs };
    if (version !== undefined) report.version = version;
    logger.info("reloaded", { ...report, replaced: old.map((i) => i.id) });
    return report;
  }
}
