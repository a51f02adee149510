import semver from "semver";
import {
  INSTANCE_ID,
  instanceSubjectBase,
  META_DESCRIPTION,
  META_HOST,
  META_IDEMPOTENT,
  META_INPUT_SCHEMA,
  META_INSTANCE_SUBJECT,
  META_OUTPUT_SCHEMA,
  META_PREFIX,
  META_PROTOCOL,
  META_REGION,
  META_REQUIRES,
  META_RUNTIME,
  META_STREAM,
  META_WEIGHT,
  METHOD_NAME,
  PLUGIN_NAME,
  PROTOCOL_VERSION,
  versionSubjectBase,
} from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";
import { createInputValidator } from "./input_validator.ts";
import type { InputValidator } from "./input_validator.ts";

/** One method of one version, as discovered. */
export interface MethodEntry {
  readonly name: string;
  /** The version's queue-group subject for this method. */
  readonly subject: string;
  readonly idempotent: boolean;
  /** It answers a stream of items (`sy.stream`): the router serves it as NDJSON or SSE. */
  readonly stream: boolean;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema: Record<string, unknown>;
  readonly validate: InputValidator;
}

/** One running instance. */
export interface InstanceEntry {
  readonly id: string;
  readonly plugin: string;
  readonly version: string;
  readonly runtime: string;
  readonly host: string;
  /** Its `sy.region` ("" when it names none). */
  readonly region: string;
  /** `<prefix>.$i.<plugin>.<id>`, derived from the names: append `.<method>` to address this instance alone. */
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
  /** When it last answered without a 5xx (ms since the epoch; 0: never). */
  lastOkAt: number;
  /** When it last answered at all (ms since the epoch; 0: never). */
  lastReplyAt: number;
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
  /** The instances not draining, as an array the balancers walk without allocating: appended to on a join, rebuilt on a drain or removal. */
  live: InstanceEntry[];
  /** `live` by region, for routers that prefer their own region; kept as `live` is. */
  liveByRegion: Map<string, InstanceEntry[]>;
}

export interface PluginEntry {
  readonly name: string;
  readonly versions: Map<string, VersionEntry>;
}

/** Why {@linkcode Registry.admit} refused an INFO: said once per instance in a log line. */
export type Refusal = { reason: string };

/** The protocol versions this router speaks (`sy.protocol`). */
export const KNOWN_PROTOCOLS: ReadonlySet<string> = new Set([PROTOCOL_VERSION]);

/**
 * What the router knows of the plugins on the bus, fed by discovery. Only names that pass the
 * grammars get in, and every subject is derived from those names here: nothing an instance
 * announces chooses where a request goes.
 */
export class Registry {
  readonly #plugins = new Map<string, PluginEntry>();
  readonly #prefix: string;
  // Version picks are cached per plugin and range until the registry changes.
  #picks = new Map<string, VersionEntry | null>();
  // Instances announced and being proven, per plugin (see Registry.arriving).
  readonly #arriving = new Map<string, Set<Promise<unknown>>>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The subject prefix every derived subject starts with. */
  get prefix(): string {
    return this.#prefix;
  }

  get(plugin: string): PluginEntry | undefined {
    return this.#plugins.get(plugin);
  }

  /**
   * `proof` is admitting an instance of `plugin` that announced itself: until it settles,
   * {@linkcode Registry.arrivals} includes it. A new version that announced itself a moment before
   * the old one drained is then waited for, not answered with `plugin_unavailable`.
   */
  arriving(plugin: string, proof: Promise<unknown>): void {
    let pending = this.#arriving.get(plugin);
    if (pending === undefined) this.#arriving.set(plugin, pending = new Set());
    pending.add(proof);
    const settled = () => {
      pending.delete(proof);
      if (pending.size === 0 && this.#arriving.get(plugin) === pending) this.#arriving.delete(plugin);
    };
    proof.then(settled, settled);
  }

  /** The proofs of `plugin`'s announced instances under way, settled together; `undefined` when none. */
  arrivals(plugin: string): Promise<unknown> | undefined {
    const pending = this.#arriving.get(plugin);
    return pending === undefined ? undefined : Promise.allSettled(pending);
  }

  plugins(): IterableIterator<PluginEntry> {
    return this.#plugins.values();
  }

  /** The instance `id` of `plugin`, in whichever version it runs. */
  instance(plugin: string, id: string): InstanceEntry | undefined {
    for (const version of this.#plugins.get(plugin)?.versions.values() ?? []) {
      const instance = version.instances.get(id);
      if (instance !== undefined) return instance;
    }
    return undefined;
  }

  /**
   * Adds an instance from its INFO. Call it only with an INFO the instance gave on its own
   * `$SRV.INFO.<name>.<id>` subject (see `discovery.ts`): that is the proof of who it is.
   * @returns the new entry; `undefined` when it was known already (its `lastSeen` is refreshed);
   * a {@linkcode Refusal} for an INFO that breaks the protocol.
   */
  admit(info: InfoResponse, now: number): InstanceEntry | undefined | Refusal {
    const refusal = this.#check(info);
    if (refusal !== undefined) return { reason: refusal };
    let plugin = this.#plugins.get(info.name);
    if (plugin === undefined) {
      plugin = { name: info.name, versions: new Map() };
      this.#plugins.set(info.name, plugin);
    }
    const known = this.instance(info.name, info.id);
    if (known !== undefined) {
      known.lastSeen = now;
      return undefined;
    }
    let version = plugin.versions.get(info.version);
    if (version === undefined) {
      version = { version: info.version, methods: this.#methods(info), instances: new Map(), live: [], liveByRegion: new Map(), requires: parseRequires(info.metadata[META_REQUIRES]) };
      plugin.versions.set(info.version, version);
    }
    const subjectBase = instanceSubjectBase(this.#prefix, info.name, info.id);
    const entry: InstanceEntry = {
      id: info.id,
      plugin: info.name,
      version: info.version,
      runtime: text(info.metadata[META_RUNTIME], 32),
      host: text(info.metadata[META_HOST], 255),
      region: regionOf(info.metadata[META_REGION]),
      subjectBase,
      draining: false,
      lastSeen: now,
      joinedAt: now,
      weight: positiveNumber(info.metadata[META_WEIGHT]) ?? 1,
      pending: 0,
      ewmaMs: 0,
      failures: 0,
      lastOkAt: 0,
      lastReplyAt: 0,
      ejections: 0,
      ejectedUntil: 0,
      health: "unknown",
      subjects: new Map(),
    };
    version.instances.set(info.id, entry);
    // Appended, not rebuilt: rebuilding every version's lists on each join cost a router that meets
    // 5,000 instances at once seconds of CPU (N joins × N instances). Nothing holds these arrays
    // across an await, so a push is seen by no one half-way.
    version.live.push(entry);
    const local = version.liveByRegion.get(entry.region);
    if (local === undefined) version.liveByRegion.set(entry.region, [entry]);
    else local.push(entry);
    this.#picks = new Map();
    return entry;
  }

  /** Why `info` cannot enter, or `undefined` when it may. */
  #check(info: InfoResponse): string | undefined {
    const meta = info.metadata;
    if (typeof meta !== "object" || meta === null) return "no metadata";
    const protocol = meta[META_PROTOCOL];
    if (!KNOWN_PROTOCOLS.has(protocol as string)) return `unknown protocol version "${String(protocol).slice(0, 16)}"`;
    if (typeof info.name !== "string" || !PLUGIN_NAME.test(info.name)) return "malformed plugin name";
    if (typeof info.id !== "string" || !INSTANCE_ID.test(info.id)) return "malformed instance id";
    if (typeof info.version !== "string" || semver.valid(info.version) !== info.version) return "version is not semver";
    if ((meta[META_PREFIX] ?? this.#prefix) !== this.#prefix) return `serves under another subject prefix`;
    const own = instanceSubjectBase(this.#prefix, info.name, info.id);
    const claimed = meta[META_INSTANCE_SUBJECT];
    if (claimed !== undefined && claimed !== own) return `claims instance subject "${String(claimed).slice(0, 100)}", not its own "${own}"`;
    const base = versionSubjectBase(this.#prefix, info.name, info.version);
    for (const endpoint of Array.isArray(info.endpoints) ? info.endpoints : []) {
      if (typeof endpoint?.name !== "string" || !METHOD_NAME.test(endpoint.name)) continue;
      if (endpoint.subject !== undefined && endpoint.subject !== `${base}.${endpoint.name}`) {
        return `endpoint "${endpoint.name}" claims subject "${String(endpoint.subject).slice(0, 100)}", not "${base}.${endpoint.name}"`;
      }
    }
    return undefined;
  }

  /** Marks an instance as draining: it takes no new requests. */
  markDraining(plugin: string, id: string): InstanceEntry | undefined {
    const instance = this.instance(plugin, id);
    if (instance !== undefined && !instance.draining) {
      instance.draining = true;
      this.#changed(this.#versionOf(instance));
    }
    return instance;
  }

  /**
   * Forgets an instance, and its version once no instance of it is left (a request for that version
   * then gets `no_matching_version`). The plugin stays known with no versions, so callers get 503
   * `plugin_unavailable` rather than 404 while it is down.
   * @returns the instance removed, if it was known.
   */
  remove(plugin: string, id: string): InstanceEntry | undefined {
    const entry = this.#plugins.get(plugin);
    for (const version of entry?.versions.values() ?? []) {
      const instance = version.instances.get(id);
      if (instance === undefined) continue;
      version.instances.delete(id);
      if (version.instances.size === 0) entry!.versions.delete(version.version);
      this.#changed(version);
      return instance;
    }
    return undefined;
  }

  /** True when some known version of `plugin`, running or not, satisfies `range`. */
  knows(plugin: string, range: string): boolean {
    const versions = [...this.#plugins.get(plugin)?.versions.keys() ?? []];
    return semver.validRange(range) !== null && semver.maxSatisfying(versions, range) !== null;
  }

  /** Forgets instances not seen since `before`; returns how many. Each version's lists are rebuilt once. */
  prune(before: number): number {
    let n = 0;
    for (const plugin of this.#plugins.values()) {
      for (const version of [...plugin.versions.values()]) {
        const stale = [...version.instances.values()].filter((i) => i.lastSeen < before);
        if (stale.length === 0) continue;
        for (const instance of stale) version.instances.delete(instance.id);
        if (version.instances.size === 0) plugin.versions.delete(version.version);
        this.#changed(version);
        n += stale.length;
      }
    }
    return n;
  }

  /**
   * The version a request goes to: the highest stable one with a live instance (or the highest
   * prerelease when there is no stable one), or the highest matching `range`.
   * @param exclude versions found empty since (a resend after no responders); uncached.
   * @returns `null` when nothing matches; `undefined` for an unknown plugin.
   * @throws {TypeError} for a malformed range.
   */
  pick(plugin: string, range: string | undefined, exclude?: VersionEntry): VersionEntry | null | undefined {
    const entry = this.#plugins.get(plugin);
    if (entry === undefined) return undefined;
    const key = `${plugin}\u0000${range ?? ""}`;
    const cached = exclude === undefined ? this.#picks.get(key) : undefined;
    if (cached !== undefined) return cached;
    const live = [...entry.versions.values()].filter((v) => v !== exclude && v.live.length > 0);
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
    if (exclude !== undefined) return picked;
    if (this.#picks.size > 10_000) this.#picks.clear();
    this.#picks.set(key, picked);
    return picked;
  }

  /**
   * Records an instance's `health()` status from its own `$SRV.STATS`; also a sign of life. Nothing
   * is rebuilt: `live` and the version picks do not depend on health (balancers read it per pick).
   */
  setHealth(instance: InstanceEntry, status: InstanceEntry["health"], now: number): void {
    instance.lastSeen = now;
    instance.health = status;
  }

  #versionOf(instance: InstanceEntry): VersionEntry | undefined {
    return this.#plugins.get(instance.plugin)?.versions.get(instance.version);
  }

  /** Rebuilds one version's `live` lists (new arrays: a holder of the old ones keeps what it saw). */
  #changed(version: VersionEntry | undefined): void {
    this.#picks = new Map();
    if (version === undefined) return;
    version.live = [...version.instances.values()].filter((i) => !i.draining);
    version.liveByRegion = new Map();
    for (const i of version.live) {
      const list = version.liveByRegion.get(i.region);
      if (list === undefined) version.liveByRegion.set(i.region, [i]);
      else list.push(i);
    }
  }

  #methods(info: InfoResponse): Map<string, MethodEntry> {
    const base = versionSubjectBase(this.#prefix, info.name, info.version);
    const methods = new Map<string, MethodEntry>();
    for (const endpoint of Array.isArray(info.endpoints) ? info.endpoints : []) {
      if (typeof endpoint?.name !== "string" || !METHOD_NAME.test(endpoint.name)) continue;
      const inputSchema = parseSchema(endpoint.metadata?.[META_INPUT_SCHEMA]);
      let validate: InputValidator | undefined;
      methods.set(endpoint.name, {
        name: endpoint.name,
        subject: `${base}.${endpoint.name}`,
        idempotent: endpoint.metadata?.[META_IDEMPOTENT] === "true",
        stream: endpoint.metadata?.[META_STREAM] === "true",
        description: text(endpoint.metadata?.[META_DESCRIPTION], 1000),
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

/** Region names: letters, digits, `-`, `_`, `.`, up to 64; anything else is no region. */
export const REGION_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function regionOf(value: unknown): string {
  return typeof value === "string" && REGION_NAME.test(value) ? value : "";
}

/** A metadata string for display, cut to `max` characters. */
function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.slice(0, max) : "";
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
