import semver from "semver";
import {
  INSTANCE_ID,
  META_DESCRIPTION,
  META_HOST,
  META_IDEMPOTENT,
  META_INPUT_SCHEMA,
  META_INSTANCE_SUBJECT,
  META_OUTPUT_SCHEMA,
  META_PROTOCOL,
  META_REQUIRES,
  META_RUNTIME,
  META_WEIGHT,
  versionSubjectBase,
} from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";
import { METHOD_NAME, PLUGIN_NAME } from "../plugin/mod.ts";
import { createInputValidator } from "./input_validator.ts";
import type { InputValidator } from "./input_validator.ts";

/** One method of one version, as discovered. */
export interface MethodEntry {
  readonly name: string;
  /** The version's queue-group subject for this method. */
  readonly subject: string;
  readonly idempotent: boolean;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema: Record<string, unknown>;
  readonly validate: InputValidator;
}

/** One running instance. */
export interface InstanceEntry {
  readonly id: string;
  readonly version: string;
  readonly runtime: string;
  readonly host: string;
  /** `<prefix>.$i.<plugin>.<id>`: append `.<method>` to address this instance alone. */
  readonly subjectBase: string;
  draining: boolean;
  lastSeen: number;
  /** When the router first saw it (ms): drives least-pending's slow start. */
  readonly joinedAt: number;
  /** Balancer weight: config `plugins.<name>.weights`, else INFO metadata `sy.weight`, else 1. */
  weight: number;
  // Per-instance counters, kept here so the hot path does not look anything up (src/balancing/).
  /** Requests the router dispatched to this instance that have not settled. */
  pending: number;
  /** Latency EWMA in ms (0 until the first reply). */
  ewmaMs: number;
  /** Consecutive 5xx, timeouts or no-responders. */
  failures: number;
  /** How many times it was ejected; each ejection lasts longer. */
  ejections: number;
  /** Ejected until this time (ms since the epoch); 0 when never ejected. */
  ejectedUntil: number;
  /** The last `health()` status from `$SRV.STATS`; "unhealthy" takes no traffic. */
  health: "ok" | "degraded" | "unhealthy" | "unknown";
  /** `<subjectBase>.<method>` per method, built once. */
  readonly subjects: Map<string, string>;
}

export interface VersionEntry {
  readonly version: string;
  readonly methods: ReadonlyMap<string, MethodEntry>;
  readonly instances: Map<string, InstanceEntry>;
  /** The manifest's `requires` (plugin → semver range), from INFO metadata `sy.requires`. */
  readonly requires: Readonly<Record<string, string>>;
  /** The instances not draining, as an array the balancers walk without allocating; rebuilt on change. */
  live: InstanceEntry[];
}

export interface PluginEntry {
  readonly name: string;
  readonly versions: Map<string, VersionEntry>;
}

/**
 * What the router knows of the plugins on the bus, fed by discovery. Only names that pass the
 * grammars get in, so every subject the router builds from an entry is safe.
 */
export class Registry {
  readonly #plugins = new Map<string, PluginEntry>();
  readonly #prefix: string;
  // Version picks are cached per plugin and range until the registry changes.
  #picks = new Map<string, VersionEntry | null>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  get(plugin: string): PluginEntry | undefined {
    return this.#plugins.get(plugin);
  }

  plugins(): IterableIterator<PluginEntry> {
    return this.#plugins.values();
  }

  /** Adds or refreshes an instance from its INFO; ignores services that are not Switchyard plugins. */
  upsert(info: InfoResponse, now: number): boolean {
    if (info.metadata?.[META_PROTOCOL] === undefined) return false;
    if (!PLUGIN_NAME.test(info.name) || !INSTANCE_ID.test(info.id) || semver.valid(info.version) !== info.version) return false;
    let plugin = this.#plugins.get(info.name);
    if (plugin === undefined) {
      plugin = { name: info.name, versions: new Map() };
      this.#plugins.set(info.name, plugin);
    }
    let version = plugin.versions.get(info.version);
    if (version === undefined) {
      version = { version: info.version, methods: this.#methods(info), instances: new Map(), live: [], requires: parseRequires(info.metadata[META_REQUIRES]) };
      plugin.versions.set(info.version, version);
    }
    const known = version.instances.get(info.id);
    if (known !== undefined) {
      known.lastSeen = now;
      return false;
    }
    version.instances.set(info.id, {
      id: info.id,
      version: info.version,
      runtime: info.metadata[META_RUNTIME] ?? "",
      host: info.metadata[META_HOST] ?? "",
      subjectBase: info.metadata[META_INSTANCE_SUBJECT] ?? "",
      draining: false,
      lastSeen: now,
      joinedAt: now,
      weight: positiveNumber(info.metadata[META_WEIGHT]) ?? 1,
      pending: 0,
      ewmaMs: 0,
      failures: 0,
      ejections: 0,
      ejectedUntil: 0,
      health: "unknown",
      subjects: new Map(),
    });
    this.#changed();
    return true;
  }

  /** Marks an instance as draining: it takes no new requests. */
  markDraining(plugin: string, id: string): void {
    for (const version of this.#plugins.get(plugin)?.versions.values() ?? []) {
      const instance = version.instances.get(id);
      if (instance !== undefined && !instance.draining) {
        instance.draining = true;
        this.#changed();
      }
    }
  }

  /**
   * Forgets an instance. Its version stays known with no instances, so callers get 503
   * `plugin_unavailable` rather than 404 while a plugin is down.
   */
  remove(plugin: string, id: string): boolean {
    let removed = false;
    for (const version of this.#plugins.get(plugin)?.versions.values() ?? []) {
      removed = version.instances.delete(id) || removed;
    }
    if (removed) this.#changed();
    return removed;
  }

  /** True when some known version of `plugin`, running or not, satisfies `range`. */
  knows(plugin: string, range: string): boolean {
    const versions = [...this.#plugins.get(plugin)?.versions.keys() ?? []];
    return semver.validRange(range) !== null && semver.maxSatisfying(versions, range) !== null;
  }

  /** Forgets instances not seen since `before`; returns how many. */
  prune(before: number): number {
    let n = 0;
    for (const plugin of [...this.#plugins.values()]) {
      for (const version of [...plugin.versions.values()]) {
        for (const instance of [...version.instances.values()]) {
          if (instance.lastSeen < before && this.remove(plugin.name, instance.id)) n++;
        }
      }
    }
    return n;
  }

  /**
   * The version a request goes to: the highest stable one with a live instance (or the highest
   * prerelease when there is no stable one), or the highest matching `range`.
   * @returns `null` when nothing matches; `undefined` for an unknown plugin.
   * @throws {TypeError} for a malformed range.
   */
  pick(plugin: string, range: string | undefined): VersionEntry | null | undefined {
    const entry = this.#plugins.get(plugin);
    if (entry === undefined) return undefined;
    const key = `${plugin}\u0000${range ?? ""}`;
    const cached = this.#picks.get(key);
    if (cached !== undefined) return cached;
    const live = [...entry.versions.values()].filter((v) => [...v.instances.values()].some((i) => !i.draining));
    const versions = live.map((v) => v.version);
    let chosen: string | null;
    if (range === undefined) {
      const stable = versions.filter((v) => semver.prerelease(v) === null);
      chosen = semver.rsort(stable.length > 0 ? stable : versions)[0] ?? null;
    } else {
      if (semver.validRange(range) === null) throw new TypeError(`"${range}" is not a semver range`);
      chosen = semver.maxSatisfying(versions, range);
    }
    const picked = chosen === null ? null : entry.versions.get(chosen) ?? null;
    if (this.#picks.size > 10_000) this.#picks.clear();
    this.#picks.set(key, picked);
    return picked;
  }

  /** Records an instance's `health()` status from `$SRV.STATS`; also counts as a sign of life. */
  setHealth(plugin: string, id: string, status: InstanceEntry["health"], now: number): void {
    for (const version of this.#plugins.get(plugin)?.versions.values() ?? []) {
      const instance = version.instances.get(id);
      if (instance === undefined) continue;
      instance.lastSeen = now;
      if (instance.health !== status) {
        instance.health = status;
        this.#changed();
      }
    }
  }

  #changed(): void {
    this.#picks = new Map();
    for (const plugin of this.#plugins.values()) {
      for (const version of plugin.versions.values()) {
        version.live = [...version.instances.values()].filter((i) => !i.draining);
      }
    }
  }

  #methods(info: InfoResponse): Map<string, MethodEntry> {
    const base = versionSubjectBase(this.#prefix, info.name, info.version);
    const methods = new Map<string, MethodEntry>();
    for (const endpoint of info.endpoints ?? []) {
      if (!METHOD_NAME.test(endpoint.name)) continue;
      const inputSchema = parseSchema(endpoint.metadata?.[META_INPUT_SCHEMA]);
      let validate: InputValidator | undefined;
      methods.set(endpoint.name, {
        name: endpoint.name,
        subject: `${base}.${endpoint.name}`,
        idempotent: endpoint.metadata?.[META_IDEMPOTENT] === "true",
        description: endpoint.metadata?.[META_DESCRIPTION] ?? "",
        inputSchema,
        outputSchema: parseSchema(endpoint.metadata?.[META_OUTPUT_SCHEMA]),
        // Compiled on first use: most routers never see most methods.
        validate: (input) => (validate ??= createInputValidator(inputSchema))(input),
      });
    }
    return methods;
  }
}

function parseRequires(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  try {
    const raw = JSON.parse(text) as unknown;
    if (typeof raw !== "object" || raw === null) return out;
    for (const [name, range] of Object.entries(raw)) {
      if (PLUGIN_NAME.test(name) && typeof range === "string" && semver.validRange(range) !== null) out[name] = range;
    }
  } catch {
    // a malformed manifest requirement is ignored, not fatal
  }
  return out;
}

function positiveNumber(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

function parseSchema(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const schema = JSON.parse(text) as unknown;
    return typeof schema === "object" && schema !== null ? schema as Record<string, unknown> : {};
  } catch {
    return {};
  }
}
