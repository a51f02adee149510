import type { NatsConnection } from "@nats-io/nats-core";
import type { Deps } from "../deps.ts";
import { collectMicro, INSTANCE_ID, isBusError, SRV_PREFIX } from "../bus/mod.ts";
import type { InfoResponse, RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, Registry } from "./registry.ts";
import { degradationsOf } from "./degradations.ts";

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** At most this many single proofs run at once; the rest wait for the next roll call. */
const MAX_PROVING = 256;
const PROOF_TIMEOUT_MS = 2_000;
/** A plugin's instances answer `$SRV.PING.<name>` within this of each other. */
const NAME_STALL_MS = 50;

/** What a {@linkcode Prover} shares with its discovery. */
export interface ProverParts extends Deps {
  nc: NatsConnection;
  registry: Registry;
  mux: RequestMux;
  /** Logs once per key. */
  warnOnce: (key: string, msg: string, attrs: Record<string, unknown>) => void;
  /** An instance that said `stopped` a moment ago, not to be brought back. */
  departed: (key: string) => boolean;
  /** Instances refused lately, not to be asked again for a while. */
  refused: Map<string, number>;
  /**
   * Instances that did not answer on their own subject lately: not asked again for a while on a
   * `started` event (a forged one costs one question), but admitted when a roll call finds them
   * answering for their plugin (only the plugin's holder can answer there). A real instance may miss
   * one question while its subscription crosses the cluster.
   */
  unanswered: Map<string, number>;
  /** How long a refusal stands. */
  refuseForMs: number;
  /** Told of each instance admitted. */
  joined?: (entry: InstanceEntry) => void;
}

/**
 * Proof of identity. Under the documented NATS permissions only a process holding a plugin's
 * credentials can subscribe to that plugin's `$SRV.<verb>.<name>` and `$SRV.<verb>.<name>.<id>`
 * subjects, so only it can answer there. An instance enters the registry only with a PING answered
 * on one of them; its methods and schemas come once per version, from an INFO on an instance's own
 * `$SRV.INFO.<name>.<id>`. Everything else (events, answers to `$SRV.PING` without a name) only
 * says whom to ask.
 */
export class Prover {
  readonly #p: ProverParts;
  readonly #proving = new Set<string>();

  constructor(parts: ProverParts) {
    this.#p = parts;
  }

  /**
   * Asks `$SRV.PING.<name>` and admits every instance of `name` answering there; the known ones
   * are marked as seen (a roll call).
   */
  async proveName(name: string): Promise<void> {
    const key = `${name}.*`;
    if (this.#proving.has(key)) return;
    this.#proving.add(key);
    try {
      const pings = await collectMicro(this.#p.nc, "PING", { name }, { stallMs: NAME_STALL_MS });
      // A new version's methods come once, from one of its instances; the others join on its entry.
      const byVersion = new Map<string, Record<string, unknown>[]>();
      for (const ping of pings) {
        const id = this.#checkedId(name, ping);
        if (id === undefined) continue;
        const known = this.#p.registry.instance(name, id);
        if (known !== undefined) {
          known.lastSeen = this.#p.clock.now();
          continue;
        }
        const list = byVersion.get(String(ping.version));
        if (list === undefined) byVersion.set(String(ping.version), [ping]);
        else list.push(ping);
      }
      await Promise.all([...byVersion.values()].map(async ([first, ...rest]) => {
        if (!await this.#admit(name, first!)) return;
        for (const ping of rest) await this.#admit(name, ping);
      }));
    } finally {
      this.#proving.delete(key);
    }
  }

  /** Asks one instance on its own `$SRV.PING.<name>.<id>` (after its `started` event). */
  async proveInstance(name: string, id: string): Promise<void> {
    const key = `${name}.${id}`;
    const p = this.#p;
    const now = p.clock.now();
    if (this.#proving.has(key) || this.#proving.size >= MAX_PROVING || (p.refused.get(key) ?? 0) > now || (p.unanswered.get(key) ?? 0) > now || p.departed(key)) return;
    this.#proving.add(key);
    try {
      const ping = await this.#ask("PING", name, id);
      if (ping !== undefined && this.#checkedId(name, ping) === id) await this.#admit(name, ping);
    } finally {
      this.#proving.delete(key);
    }
  }

  /** `name`'s answer's instance id, when it is well-formed and not refused or departed. */
  #checkedId(name: string, doc: Record<string, unknown>): string | undefined {
    const p = this.#p;
    const id = doc.id;
    if (doc.name !== name) {
      p.warnOnce(`name ${name} ${clip(doc.name)}`, "ignored an answer given for another plugin", { plugin: name, claimed: clip(doc.name) });
      return undefined;
    }
    if (typeof id !== "string" || !INSTANCE_ID.test(id)) {
      p.warnOnce(`malformed id ${name} ${clip(id)}`, "ignored an answer with a malformed instance id", { plugin: name, instance: clip(id) });
      return undefined;
    }
    const key = `${name}.${id}`;
    if ((p.refused.get(key) ?? 0) > p.clock.now() || p.departed(key)) return undefined;
    return id;
  }

  /**
   * Admits an instance from its PING (its name, id, version and metadata), with its version's
   * methods from the registry, or from its own INFO when the version is new.
   * @returns whether it is in the registry now.
   */
  async #admit(name: string, ping: Record<string, unknown>): Promise<boolean> {
    const p = this.#p;
    const id = ping.id as string;
    let info = { ...ping, endpoints: [], description: "" } as unknown as InfoResponse;
    if (typeof ping.version !== "string" || p.registry.get(name)?.versions.has(ping.version) !== true) {
      const full = await this.#ask("INFO", name, id);
      if (full === undefined) return false;
      if (full.name !== name || full.id !== id || full.version !== ping.version) {
        this.#refuse(name, id, "its INFO does not match its PING");
        return false;
      }
      info = full as unknown as InfoResponse;
    }
    if (p.departed(`${name}.${id}`)) return false; // it stopped while its answer was on the way
    const admitted = p.registry.admit(info, p.clock.now());
    if (admitted === undefined) return true;
    if ("reason" in admitted) {
      this.#refuse(name, id, admitted.reason);
      return false;
    }
    p.refused.delete(`${name}.${id}`);
    p.unanswered.delete(`${name}.${id}`);
    this.#joined(info, admitted);
    p.joined?.(admitted);
    return true;
  }

  /** One instance's answer on its own `$SRV.<verb>.<name>.<id>`; `undefined` (and why, logged) when none. */
  async #ask(verb: "PING" | "INFO", name: string, id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const reply = await this.#p.mux.request(`${SRV_PREFIX}.${verb}.${name}.${id}`, EMPTY, { timeoutMs: PROOF_TIMEOUT_MS });
      const doc = JSON.parse(decoder.decode(reply.data)) as unknown;
      if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
      this.#refuse(name, id, `its ${verb} is not a JSON object`);
    } catch (err) {
      // Nobody on its own subject: whoever announced it does not hold its credentials, or it is gone.
      if (isBusError(err) && err.unsent) this.#unanswered(name, id, `nobody answers on its own $SRV.${verb} subject`);
      else if (err instanceof SyntaxError) this.#refuse(name, id, `its ${verb} is not JSON`);
      else this.#p.logger.debug(`could not ask an instance for its ${verb}`, { plugin: name, instance: id, error: String(err) });
    }
    return undefined;
  }

  #refuse(name: string, id: string, reason: string): void {
    const p = this.#p;
    p.refused.set(`${name}.${id}`, p.clock.now() + p.refuseForMs);
    p.warnOnce(`refused ${name}.${id} ${reason}`, "instance refused", { plugin: name, instance: id, reason });
  }

  #unanswered(name: string, id: string, reason: string): void {
    const p = this.#p;
    p.unanswered.set(`${name}.${id}`, p.clock.now() + p.refuseForMs);
    p.warnOnce(`unanswered ${name}.${id}`, "instance not admitted: no answer on its own subject", { plugin: name, instance: id, reason });
  }

  /** Logs a join, and once per instance what of its INFO the registry ignores or replaces with a default. */
  #joined(info: InfoResponse, entry: InstanceEntry): void {
    const attrs = { plugin: entry.plugin, version: entry.version, instance: entry.id };
    this.#p.logger.info("instance joined", attrs);
    const degraded = degradationsOf(info);
    if (degraded.length === 0) return;
    const reasons = degraded.map((d) => d.endpoint === undefined ? d.reason : `${d.endpoint}: ${d.reason}`);
    this.#p.warnOnce(`degraded ${entry.plugin}.${entry.id}`, "instance joined, but the router ignores part of its INFO", { ...attrs, reasons });
  }
}

/** A value shown in a log line: at most 64 characters of its string form. */
export function clip(value: unknown): string {
  return String(value).slice(0, 64);
}
