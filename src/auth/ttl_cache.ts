import type { Clock } from "../deps.ts";

interface Entry<V> {
  value: V;
  until: number;
}

/**
 * A bounded map whose entries expire. When full, the oldest entry goes first (Map keeps
 * insertion order), so a flood of new keys can't grow it. Expiry is checked on read: no timers.
 */
export class TtlCache<V> {
  readonly #max: number;
  readonly #clock: Clock;
  readonly #map = new Map<string, Entry<V>>();

  constructor(max: number, clock: Clock) {
    this.#max = max;
    this.#clock = clock;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.#clock.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` until the epoch-ms time `until`. */
  set(key: string, value: V, until: number): void {
    if (this.#max === 0 || until <= this.#clock.now()) return;
    if (this.#map.size >= this.#max && !this.#map.has(key)) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, { value, until });
  }
}
