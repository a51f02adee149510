import { Match } from "@nats-io/nats-core";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const STATUS_LINE = "NATS/1.0";
/** RFC 822 field names: printable ASCII except `:`. */
const FIELD_NAME = /^[!-9;-~]+$/;
const LINE_BREAK = /[\r\n]/;

/**
 * NATS message headers, cheap to build, encode and read on the request path. nats.js's own
 * `MsgHdrs` canonicalises and re-scans every key on each `set`, `get` and while decoding (a few
 * µs per message); a Switchyard request carries a handful of headers whose names are constants,
 * so a flat list with a cached encoding does. Implements `MsgHdrs`, so `publish()`, `respond()`
 * and OpenTelemetry's `TextMapSetter`/`Getter` take it as is.
 */
export class WireHeaders implements MsgHdrs {
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  #code: number;
  #description: string;
  #encoded: Uint8Array | undefined;

  constructor(code = 0, description = "") {
    this.#code = code;
    this.#description = description;
  }

  /** Reads a message's headers without nats.js's decoder (see {@linkcode readHeaders}). */
  static decode(bytes: Uint8Array): WireHeaders {
    const text = decoder.decode(bytes);
    let end = text.indexOf("\r\n");
    if (end < 0) end = text.length;
    const h = new WireHeaders();
    const status = text.slice(STATUS_LINE.length, end).trim();
    if (status !== "") {
      const space = status.indexOf(" ");
      h.#code = Number.parseInt(space < 0 ? status : status.slice(0, space), 10) || 0;
      h.#description = space < 0 ? "" : status.slice(space + 1).trim();
    }
    for (let at = end + 2; at < text.length;) {
      let next = text.indexOf("\r\n", at);
      if (next < 0) next = text.length;
      const colon = text.indexOf(":", at);
      if (colon > at && colon < next) {
        h.#names.push(text.slice(at, colon));
        h.#values.push(text.slice(colon + 1, next).trim());
      }
      at = next + 2;
    }
    return h;
  }

  get code(): number {
    return this.#code;
  }
  get description(): string {
    return this.#description;
  }
  get hasError(): boolean {
    return this.#code >= 300;
  }
  get status(): string {
    return `${this.#code} ${this.#description}`.trim();
  }

  get(k: string, match: Match = Match.Exact): string {
    const i = this.#find(k, match, 0);
    return i < 0 ? "" : this.#values[i]!;
  }

  last(k: string, match: Match = Match.Exact): string {
    let found = -1;
    for (let i = this.#find(k, match, 0); i >= 0; i = this.#find(k, match, i + 1)) found = i;
    return found < 0 ? "" : this.#values[found]!;
  }

  has(k: string, match: Match = Match.Exact): boolean {
    return this.#find(k, match, 0) >= 0;
  }

  values(k: string, match: Match = Match.Exact): string[] {
    const out: string[] = [];
    for (let i = this.#find(k, match, 0); i >= 0; i = this.#find(k, match, i + 1)) out.push(this.#values[i]!);
    return out;
  }

  keys(): string[] {
    return [...new Set(this.#names)];
  }

  /** @throws {TypeError} for a name that is not a header field name, or a value with CR or LF. */
  set(k: string, v: string, match: Match = Match.Exact): void {
    this.delete(k, match);
    this.append(k, v);
  }

  /** @throws {TypeError} for a name that is not a header field name, or a value with CR or LF. */
  append(k: string, v: string, match: Match = Match.Exact): void {
    if (!FIELD_NAME.test(k)) throw new TypeError(`"${k}" is not a valid header name`);
    if (LINE_BREAK.test(v)) throw new TypeError(`The value of header "${k}" must not contain CR or LF`);
    const i = match === Match.Exact ? -1 : this.#find(k, match, 0);
    this.#names.push(i < 0 ? k : this.#names[i]!);
    this.#values.push(v.trim());
    this.#encoded = undefined;
  }

  delete(k: string, match: Match = Match.Exact): void {
    for (let i = this.#find(k, match, 0); i >= 0; i = this.#find(k, match, i)) {
      this.#names.splice(i, 1);
      this.#values.splice(i, 1);
      this.#encoded = undefined;
    }
  }

  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const k of this.keys()) yield [k, this.values(k)];
  }

  /** The wire form (`NATS/1.0…\r\n\r\n`), computed once until the headers change; `publish()` calls it. */
  encode(): Uint8Array {
    if (this.#encoded !== undefined) return this.#encoded;
    let s = this.#code > 0 ? `${STATUS_LINE} ${this.#code} ${this.#description}` : STATUS_LINE;
    for (let i = 0; i < this.#names.length; i++) s += `\r\n${this.#names[i]}: ${this.#values[i]}`;
    return this.#encoded = encoder.encode(`${s}\r\n\r\n`);
  }

  #find(k: string, match: Match, from: number): number {
    const names = this.#names;
    if (match === Match.Exact) {
      for (let i = from; i < names.length; i++) if (names[i] === k) return i;
      return -1;
    }
    const lower = k.toLowerCase();
    for (let i = from; i < names.length; i++) if (names[i]!.toLowerCase() === lower) return i;
    return -1;
  }
}

/** The fields of nats.js's `MsgImpl` that hold the raw message (nats-core 3.x). */
interface RawMsg {
  _msg?: { hdr?: number };
  _rdata?: Uint8Array;
}

/**
 * A received message's headers as {@linkcode WireHeaders}, decoded straight from the raw bytes when
 * the message is nats.js's own `MsgImpl` (whose header offset and buffer this reads), else
 * converted from `msg.headers`. `undefined` when the message has none.
 */
export function readHeaders(msg: Msg): WireHeaders | undefined {
  const raw = msg as unknown as RawMsg;
  const hdr = raw._msg?.hdr;
  const data = raw._rdata;
  if (typeof hdr === "number" && data instanceof Uint8Array) {
    return hdr > -1 ? WireHeaders.decode(data.subarray(0, hdr)) : undefined;
  }
  const h = msg.headers;
  if (h === undefined) return undefined;
  const out = new WireHeaders(h.code, h.description);
  for (const [k, values] of h) for (const v of values) out.append(k, v);
  return out;
}
