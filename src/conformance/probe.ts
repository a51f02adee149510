import { createInbox } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { H_DEADLINE, H_REQUEST_ID, readHeaders, WireHeaders } from "../bus/mod.ts";

/** One reply to a probe, as it came off the wire. */
export interface ProbeReply {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: WireHeaders | undefined;
  /** NATS's own answer when nobody subscribes: a header-only 503. */
  readonly noResponders: boolean;
}

/** Options of {@linkcode Prober.ask}. */
export interface AskOptions {
  /** Wait this long for a first reply. */
  timeoutMs: number;
  /** After each reply, keep listening this long for another (0: stop at the first). @default 0 */
  moreMs?: number;
  /** Stop listening at once after a reply this accepts. */
  stopAt?: (reply: ProbeReply) => boolean;
  /** Send Switchyard request headers (`sy-request-id`, `sy-deadline`). @default false */
  request?: boolean;
  /** More headers to send. */
  headers?: Readonly<Record<string, string>>;
}

const decoder = new TextDecoder();

/**
 * Sends requests and collects every reply on an inbox of its own, so a subject answered twice
 * (two subscribers outside a queue group) shows as two replies and no responders as a reply.
 */
export class Prober {
  readonly #nc: NatsConnection;
  readonly #inboxPrefix: string | undefined;
  #seq = 0;

  constructor(nc: NatsConnection, inboxPrefix?: string) {
    this.#nc = nc;
    this.#inboxPrefix = inboxPrefix;
  }

  /** Sends `payload` on `subject` and resolves with the replies (none when nothing came in time). */
  async ask(subject: string, payload: Uint8Array | string, options: AskOptions): Promise<ProbeReply[]> {
    const inbox = createInbox(this.#inboxPrefix);
    const replies: ProbeReply[] = [];
    let settle: () => void = () => {};
    const done = new Promise<void>((resolve) => settle = resolve);
    const deadline = Date.now() + options.timeoutMs;
    let timer = setTimeout(settle, options.timeoutMs);
    const sub = this.#nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) return;
        const headers = readHeaders(msg);
        const reply = { subject, data: msg.data, headers, noResponders: headers?.code === 503 && msg.data.length === 0 };
        replies.push(reply);
        // Listen on while replies keep coming, `moreMs` after the last one, within the timeout.
        clearTimeout(timer);
        const stop = options.stopAt?.(reply) === true;
        timer = setTimeout(settle, stop ? 0 : Math.min(options.moreMs ?? 0, Math.max(0, deadline - Date.now())));
      },
    });
    try {
      let headers: WireHeaders | undefined;
      if (options.request === true || options.headers !== undefined) headers = new WireHeaders();
      if (options.request === true) {
        headers!.set(H_REQUEST_ID, `conformance-${++this.#seq}`);
        headers!.set(H_DEADLINE, String(Date.now() + options.timeoutMs));
      }
      for (const [name, value] of Object.entries(options.headers ?? {})) headers!.set(name, value);
      await this.#nc.flush();
      this.#nc.publish(subject, payload, { reply: inbox, ...(headers === undefined ? {} : { headers }) });
      await done;
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
    return replies;
  }

  /** Asks and returns the first reply's JSON object; a string describing what went wrong otherwise. */
  async askJson(subject: string, options: AskOptions): Promise<Record<string, unknown> | string> {
    const [reply] = await this.ask(subject, "", options);
    if (reply === undefined) return `no reply on ${subject} within ${options.timeoutMs} ms`;
    if (reply.noResponders) return `no responders on ${subject}`;
    return jsonObjectOf(reply) ?? `the reply on ${subject} is not a JSON object`;
  }
}

/** The reply's body as a JSON object, or `undefined`. */
export function jsonObjectOf(reply: ProbeReply): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(decoder.decode(reply.data)) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
