import { hostname } from "node:os";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Clock, Logger } from "../deps.ts";
import { noopLogger, systemClock } from "../deps.ts";
import { controlSubject, decodeWireError, eventsSubject, SRV_PREFIX } from "../bus/mod.ts";
import type { InstanceEvent, StatsResponse } from "../bus/mod.ts";
import { Instance, newInstanceId } from "./instance.ts";
import { PluginGroup } from "./plugin_group.ts";
import type { GroupContext, InstanceView, ReadyResult, ReloadReport } from "./plugin_group.ts";
import { refusedProcess, startPluginProcess } from "./plugin_process.ts";
import type { PluginProcess, PluginProcessSpec } from "./plugin_process.ts";
import { PluginRefusedError } from "./allow_list.ts";
import { specChange } from "./plugin_specs.ts";
import type { PluginSpec } from "./plugin_specs.ts";
import { orderByRequirements } from "./plugin_order.ts";
import type { ResolvedSupervisorOptions } from "./options.ts";
import type { OptionsOutcome } from "./options_outcome.ts";

const decoder = new TextDecoder();

/** Options of {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** The supervisor's own connection: readiness (instance events), health checks, options, control. */
  nc: NatsConnection;
  /** What the instances connect to. */
  natsUrl: string;
  prefix: string;
  /** The `switchyard` CLI entry the instances run (src/cli/main.ts). */
  cli: string;
  settings: ResolvedSupervisorOptions;
  /** Each line an instance prints, with its id. */
  output: (instanceId: string, line: string) => void;
  /** The instances' log format. @default "pretty" */
  logFormat?: "json" | "pretty";
  logger?: Logger;
  clock?: Clock;
  /** The allow-list, audit log and sandbox extras of every start (src/cli/plugin_gate.ts). @default none */
  gate?: Pick<PluginProcessSpec, "allowList" | "audit" | "codeCache" | "serverCaFile">;
  /** Shown by `switchyard ps`. @default `<hostname>-<pid>` */
  id?: string;
}

/** What a config (or manifest) change did to one plugin. */
export interface PluginUpdate {
  plugin: string;
  /** It was started; `ready`: its instances came up. */
  added?: { ready: boolean };
  removed?: true;
  /** It was replaced blue-green: the report says whether the new instances came up. */
  replaced?: ReloadReport;
  /** Its replica count now. */
  scaled?: number;
  /** New options for its running instances. */
  options?: OptionsOutcome;
}

/** What `switchyard ps` gets from one supervisor. */
export interface SupervisorSnapshot {
  supervisor: { id: string; host: string; pid: number; startedAt: string };
  instances: InstanceView[];
}

/**
 * Runs plugin processes: per plugin `replicas` instances on a runtime with env and args, restarts
 * crashed ones with exponential backoff, reports crash loops, replaces them blue-green on reload,
 * pushes option changes, and drains everything on stop (dependents first). `switchyard up` and
 * `switchyard dev` both run one.
 */
export class Supervisor {
  readonly id: string;
  readonly #options: SupervisorOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #groups = new Map<string, PluginGroup>();
  /** Start order (dependencies first); stop runs it backwards. */
  #order: string[] = [];
  /** Instances not ready yet, by id: the plugin each was started as, and what to call when it is. */
  readonly #waiting = new Map<string, { plugin: string; ready: (info: InstanceEvent["info"]) => void; warned: boolean }>();
  readonly #events: Subscription;
  readonly #startedAt = new Date();
  #settings: ResolvedSupervisorOptions;
  #stopping: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#logger = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#settings = options.settings;
    this.id = options.id ?? `${hostname()}-${process.pid}`;
    this.#events = options.nc.subscribe(eventsSubject(options.prefix, "*"), {
      callback: (_err, msg) => this.#onEvent(msg.subject, msg.data),
    });
  }

  /** The plugins supervised now. */
  plugins(): PluginGroup[] {
    return this.#order.map((name) => this.#groups.get(name)!);
  }

  get(plugin: string): PluginGroup | undefined {
    return this.#groups.get(plugin);
  }

  /**
   * Starts every plugin, each after the supervised plugins it requires are ready (up to
   * `startTimeoutMs`; then it starts anyway and says so).
   * @returns whether every instance came up.
   * @throws {Error} when the requirements form a cycle.
   */
  async start(specs: readonly PluginSpec[]): Promise<boolean> {
    const ordered = orderByRequirements(specs);
    const ready = new Map<string, Promise<boolean>>();
    for (const spec of ordered) {
      const needs = Object.keys(spec.requires).filter((name) => ready.has(name));
      if (needs.length > 0) {
        const ok = await Promise.all(needs.map((name) => ready.get(name)!));
        if (!ok.every(Boolean)) this.#logger.warn("starting before its requirements are ready", { plugin: spec.name, requires: spec.requires });
      }
      ready.set(spec.name, this.#add(spec).start());
    }
    const all = await Promise.all(ready.values());
    return all.every(Boolean);
  }

  /**
   * Reconciles with a new list of plugins (a config reload): starts new ones, drains removed ones,
   * replaces ones whose module, runtime, env, args, NATS credentials or manifest permissions
   * changed (blue-green), scales, and pushes changed options to the running instances.
   * @returns what happened to each plugin that changed.
   */
  async apply(specs: readonly PluginSpec[], settings: ResolvedSupervisorOptions = this.#settings): Promise<PluginUpdate[]> {
    this.#settings = settings;
    for (const group of this.#groups.values()) group.updateSettings();
    const next = new Set(specs.map((s) => s.name));
    const work: Promise<PluginUpdate>[] = [];
    for (const name of this.#groups.keys()) {
      if (!next.has(name)) work.push(this.remove(name, "plugin removed from the config: draining it"));
    }
    for (const spec of orderByRequirements(specs)) work.push(this.update(spec, "plugin added to the config: starting it"));
    return (await Promise.all(work)).filter((u) => Object.keys(u).length > 1);
  }

  /**
   * Brings one plugin to `spec`: starts it when new; else replaces it blue-green (module, runtime,
   * env, args, NATS credentials, permissions or requirements changed), or scales it and pushes
   * new options to its running instances (they keep their state).
   * @returns what happened; only `plugin` when nothing changed.
   */
  async update(spec: PluginSpec, why = "plugin added: starting it"): Promise<PluginUpdate> {
    const group = this.#groups.get(spec.name);
    if (group === undefined) {
      this.#logger.info(why, { plugin: spec.name });
      return { plugin: spec.name, added: { ready: await this.#add(spec).start() } };
    }
    const change = specChange(group.spec, spec);
    if (change.replace) return { plugin: spec.name, replaced: await group.reload("its settings changed", { next: spec }) };
    const update: PluginUpdate = { plugin: spec.name };
    const work: Promise<unknown>[] = [];
    if (change.replicas) work.push(group.scale(spec.replicas).then(() => update.scaled = spec.replicas));
    if (change.options) work.push(group.setOptions(spec.options).then((outcome) => update.options = outcome));
    await Promise.all(work);
    return update;
  }

  /** Drains and stops one plugin's instances and forgets it. */
  async remove(plugin: string, why = "plugin removed: draining it"): Promise<PluginUpdate> {
    const group = this.#groups.get(plugin);
    if (group === undefined) return { plugin };
    this.#logger.info(why, { plugin });
    this.#groups.delete(plugin);
    this.#order = this.#order.filter((n) => n !== plugin);
    await group.stop();
    return { plugin, removed: true };
  }

  /**
   * Replaces `plugin`'s instances blue-green (new code: each start imports the module afresh).
   * @param changedAt when the file changed (epoch ms), so the report times from there.
   * @param next the plugin's spec from now on (e.g. with a re-read manifest). @default its current one
   */
  reload(plugin: string, reason: string, changedAt?: number, next?: PluginSpec): Promise<ReloadReport> {
    const group = this.#groups.get(plugin);
    if (group === undefined) return Promise.resolve({ plugin, ok: false, reason, error: `No plugin "${plugin}" is supervised here`, instances: [] });
    return group.reload(reason, { ...(changedAt === undefined ? {} : { changedAt }), ...(next === undefined ? {} : { next }) });
  }

  /** For `switchyard ps`. */
  snapshot(): SupervisorSnapshot {
    return {
      supervisor: { id: this.id, host: hostname(), pid: process.pid, startedAt: this.#startedAt.toISOString() },
      instances: this.plugins().flatMap((g) => g.views()),
    };
  }

  /** Drains and stops every instance, plugins that require others first. */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      for (const name of [...this.#order].reverse()) await this.#groups.get(name)?.stop();
      this.#events.unsubscribe();
    })();
  }

  /**
   * A `started` event counts only when it came on `<prefix>.$events.<plugin>` of the plugin the
   * supervisor started that instance id as, and names that plugin: any process may publish on its
   * own plugin's events subject, so an event there about another plugin's instance is a forgery
   * (or a plugin whose own name differs from its config key). It is logged once per instance.
   */
  #onEvent(subject: string, data: Uint8Array): void {
    let event: InstanceEvent;
    try {
      event = JSON.parse(decoder.decode(data)) as InstanceEvent;
    } catch {
      return;
    }
    if (event?.type !== "started" || typeof event.info?.id !== "string") return;
    const waiting = this.#waiting.get(event.info.id);
    if (waiting === undefined) return;
    if (subject === eventsSubject(this.#options.prefix, waiting.plugin) && event.info.name === waiting.plugin) {
      waiting.ready(event.info);
      return;
    }
    if (waiting.warned) return;
    waiting.warned = true;
    this.#logger.warn("instance event ignored: it does not come from the plugin that instance was started as", {
      instance: event.info.id,
      plugin: waiting.plugin,
      subject: subject.slice(0, 200),
      claims: typeof event.info.name === "string" ? event.info.name.slice(0, 64) : undefined,
    });
  }

  #add(spec: PluginSpec): PluginGroup {
    const group = new PluginGroup(spec, this.#context());
    this.#groups.set(spec.name, group);
    this.#order.push(spec.name);
    return group;
  }

  #context(): GroupContext {
    return {
      clock: this.#clock,
      logger: this.#logger,
      settings: () => this.#settings,
      spawn: (spec, slot, revision) => this.#spawn(spec, slot, revision),
      waitReady: (instance) => this.#waitReady(instance),
      pushOptions: (instance, options) => this.#pushOptions(instance, options),
      lost: (instance) => this.#lost(instance),
    };
  }

  #spawn(spec: PluginSpec, slot: number, optionsRevision: number): Instance {
    const id = newInstanceId(spec.name, slot);
    const { output } = this.#options;
    // The output callback may run before the Instance exists (a line printed at once).
    const made: { instance?: Instance } = {};
    const processSpec: PluginProcessSpec = {
      label: id,
      runtime: spec.runtime,
      cli: this.#options.cli,
      module: spec.module,
      natsUrl: this.#options.natsUrl,
      instanceId: id,
      prefix: this.#options.prefix,
      drainTimeoutMs: this.#settings.drainTimeoutMs,
      logFormat: this.#options.logFormat ?? "pretty",
      env: spec.env,
      args: spec.args,
      runtimeArgs: spec.runtimeArgs,
      ...(spec.options === undefined ? {} : { options: spec.options }),
      // Always given: a sandboxed instance may not read its manifest.
      requires: spec.requires,
      ...(spec.permissions === undefined ? {} : { permissions: spec.permissions }),
      ...(spec.nats === undefined ? {} : { natsCredentials: spec.nats }),
      ...this.#options.gate,
      onLine: (label, line) => {
        made.instance?.remember(line);
        output(label, line);
      },
    };
    let process: PluginProcess;
    try {
      process = startPluginProcess(processSpec);
    } catch (err) {
      if (!(err instanceof PluginRefusedError)) throw err;
      this.#logger.error("plugin refused", { plugin: spec.name, instance: id, reason: err.message });
      process = refusedProcess(processSpec, err.message);
    }
    const instance = new Instance({ id, plugin: spec.name, slot, process, startedAt: this.#clock.now(), optionsRevision });
    made.instance = instance;
    this.#logger.info("instance starting", { plugin: spec.name, instance: id, pid: process.child.pid, runtime: spec.runtime });
    return instance;
  }

  /** Ready = its `started` event came (it answers discovery) and STATS does not say unhealthy. */
  async #waitReady(instance: Instance): Promise<ReadyResult> {
    const timeoutMs = this.#settings.startTimeoutMs;
    let timer: unknown;
    const started = await new Promise<ReadyResult>((resolve) => {
      this.#waiting.set(instance.id, { plugin: instance.plugin, ready: (info) => resolve({ ok: true, version: String(info.version) }), warned: false });
      timer = this.#clock.setTimeout(() => resolve({ ok: false, reason: `not ready within ${timeoutMs} ms` }), timeoutMs);
      void instance.process.exit.then((exit) =>
        resolve({
          ok: false,
          reason: `exited (${exit.signal ?? `code ${exit.code}`}) before it was ready: ${instance.reason()}`,
        })
      );
    });
    this.#clock.clearTimeout(timer);
    this.#waiting.delete(instance.id);
    if (!started.ok) {
      if (instance.exitInfo === undefined && instance.process.child.exitCode === null) await instance.process.stop(2_000);
      return started;
    }
    const health = await this.#health(instance);
    if (health?.status === "unhealthy") {
      return { ok: false, reason: `reports unhealthy${health.detail === undefined ? "" : `: ${health.detail}`}` };
    }
    instance.version = started.version;
    instance.readyAt = this.#clock.now();
    instance.state = "running";
    this.#logger.info("instance ready", {
      plugin: instance.plugin,
      instance: instance.id,
      version: started.version,
      ms: instance.readyAt - instance.startedAt,
    });
    return started;
  }

  async #health(instance: Instance): Promise<StatsResponse["health"] | undefined> {
    try {
      const reply = await this.#options.nc.request(`${SRV_PREFIX}.STATS.${instance.plugin}.${instance.id}`, undefined, { timeout: 2_000 });
      return (JSON.parse(decoder.decode(reply.data)) as StatsResponse).health;
    } catch {
      return undefined;
    }
  }

  async #pushOptions(instance: Instance, options: unknown): Promise<{ ok: true; options?: unknown } | { ok: false; message: string }> {
    try {
      const reply = await this.#options.nc.request(
        controlSubject(this.#options.prefix, instance.plugin, instance.id, "options"),
        JSON.stringify(options ?? {}),
        { timeout: 2_000 },
      );
      const err = decodeWireError(reply.headers, reply.data);
      if (err === undefined) {
        // What it says is in force: a claim, used only to report keys it dropped.
        try {
          const body = JSON.parse(decoder.decode(reply.data)) as { options?: unknown };
          return body.options === undefined ? { ok: true } : { ok: true, options: body.options };
        } catch {
          return { ok: true };
        }
      }
      // Only a refusal of the options counts as a rejection.
      if (err.status === 422 || err.status === 400) return { ok: false, message: err.message };
      this.#logger.warn("could not give an instance its options", { instance: instance.id, error: err.message });
      return { ok: true };
    } catch (err) {
      this.#logger.warn("could not give an instance its options", { instance: instance.id, error: (err as Error).message });
      return { ok: true };
    }
  }

  #lost(instance: Instance): void {
    const info = { name: instance.plugin, id: instance.id, version: instance.version ?? "" };
    try {
      this.#options.nc.publish(eventsSubject(this.#options.prefix, instance.plugin), JSON.stringify({ type: "lost", info }));
    } catch {
      // the connection is gone: routers will notice the silence
    }
  }
}
