/**
 * The streamy fixture's records read through a router: what a named generator produced, and the
 * events it went through (with when each first happened). Waits are the fixture's own (`waitEvent`
 * returns as soon as the event is recorded), never sleeps here.
 * @module
 */

/** What `streamy/stats` answers for one name. */
export interface StreamyStats {
  produced: number;
  calls: number;
  events: string[];
}

/** What `streamy/waitEvent` answers: whether the event was seen, every event so far, and when each first happened (`Date.now()`). */
export interface StreamyEvents {
  seen: boolean;
  events: string[];
  at: Record<string, number>;
}

/** `post` sends a JSON body to `/v1/<path>` and resolves with the parsed answer (a stack's `post`). */
export function streamyRecords(post: (path: string, body: unknown) => Promise<{ body: unknown }>, prefix: string) {
  let run = 0;
  return {
    /** A name no other test of the run uses: its own latch and records. */
    fresh: () => `${prefix}${++run}-${Math.random().toString(36).slice(2, 8)}`,
    stats: async (name: string) => (await post("streamy/stats", { name })).body as StreamyStats,
    waitEvent: async (name: string, event: string, timeoutMs = 20_000) =>
      (await post("streamy/waitEvent", { name, event, timeoutMs })).body as StreamyEvents,
  };
}
