import type { NatsConnection, Subscription } from "@nats-io/nats-core";

/** One message seen on `<prefix>.$events.>`. */
export interface SeenEvent {
  readonly subject: string;
  /** The parsed body, or `undefined` when it is not JSON. */
  readonly body: { type?: unknown; info?: { name?: unknown; id?: unknown; version?: unknown } } | undefined;
  /** Arrival order. */
  readonly seq: number;
}

const decoder = new TextDecoder();

/** Records every instance event under a prefix, and lets callers wait for one. */
export class EventWatch {
  readonly #sub: Subscription;
  readonly #seen: SeenEvent[] = [];
  readonly #waiters = new Set<{ match: (e: SeenEvent) => boolean; resolve: (e: SeenEvent | undefined) => void }>();

  constructor(nc: NatsConnection, prefix: string) {
    this.#sub = nc.subscribe(`${prefix}.$events.>`, {
      callback: (err, msg) => {
        if (err !== null) return;
        let body: SeenEvent["body"];
        try {
          const value = JSON.parse(decoder.decode(msg.data)) as unknown;
          body = typeof value === "object" && value !== null ? value as SeenEvent["body"] : undefined;
        } catch {
          body = undefined;
        }
        const event = { subject: msg.subject, body, seq: this.#seen.length };
        this.#seen.push(event);
        for (const waiter of this.#waiters) {
          if (waiter.match(event)) {
            this.#waiters.delete(waiter);
            waiter.resolve(event);
          }
        }
      },
    });
  }

  /** Events whose `info.id` is `id`, oldest first (supervisors' `lost` included). */
  about(id: string): SeenEvent[] {
    return this.#seen.filter((e) => e.body?.info?.id === id);
  }

  /** The first event of `type` about `id`, seen already or arriving within `timeoutMs`; `undefined` after that. */
  next(id: string, type: string, timeoutMs: number): Promise<SeenEvent | undefined> {
    const match = (e: SeenEvent) => e.body?.info?.id === id && e.body?.type === type;
    const seen = this.#seen.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: SeenEvent | undefined) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  stop(): void {
    this.#sub.unsubscribe();
    for (const waiter of this.#waiters) waiter.resolve(undefined);
    this.#waiters.clear();
  }
}
