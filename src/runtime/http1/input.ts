/**
 * The bytes read from one HTTP/1.1 connection and not yet consumed: request heads are found in it
 * and bodies taken from it. Runtime-neutral: it reads through the function it is given.
 * @module
 */

/** Reads into `into`; resolves with the count, or null at the end of the stream; rejects when the stream fails. */
export type ReadInto = (into: Uint8Array) => Promise<number | null>;

const INITIAL_SIZE = 8 * 1024;

/** A growable window over one connection's unread bytes. */
export class InputBuffer {
  #buf = new Uint8Array(INITIAL_SIZE);
  #start = 0;
  #end = 0;
  /** Where the search for the end of a head resumes. */
  #scanned = 0;
  readonly #read: ReadInto;

  constructor(read: ReadInto) {
    this.#read = read;
  }

  /** Unread bytes. */
  get size(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads more bytes (at least one) unless the stream has ended or failed (false then), into
   * {@linkcode spare}. Callers bound what they let the buffer hold.
   */
  async fill(): Promise<boolean> {
    let n: number | null;
    try {
      n = await this.#read(this.spare());
    } catch {
      return false; // reset by the peer, or closed here
    }
    if (n === null || n === 0) return false;
    this.added(n);
    return true;
  }

  /**
   * Room for the next read, made first: the unread bytes move to the front, and the window
   * doubles when they fill more than half of it (a head spanning reads). Report what was read
   * into it with {@linkcode added}; nothing else may touch the buffer meanwhile.
   */
  spare(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = this.#scanned = 0;
    else if (this.#end === this.#buf.length) this.#makeRoom();
    return this.#buf.subarray(this.#end);
  }

  /** `n` bytes were read into {@linkcode spare}. */
  added(n: number): void {
    this.#end += n;
  }

  /** The length of the head at the front (through its blank line), or -1 while it is incomplete. */
  headLength(): number {
    const buf = this.#buf;
    const end = this.#end;
    let i = Math.max(this.#start, this.#scanned - 3);
    while (i < end) {
      const lf = buf.indexOf(10, i);
      if (lf === -1 || lf >= end) break;
      if (lf - 3 >= this.#start && buf[lf - 1] === 13 && buf[lf - 2] === 10 && buf[lf - 3] === 13) {
        this.#scanned = 0;
        return lf + 1 - this.#start;
      }
      i = lf + 1;
    }
    this.#scanned = end;
    return -1;
  }

  /** The first `n` bytes as latin1 text (every byte one character), consumed. */
  takeLatin1(n: number): string {
    const from = this.#start;
    this.#start += n;
    const buf = this.#buf;
    let text = "";
    for (let at = from; at < from + n; at += 8192) {
      text += String.fromCharCode.apply(
        null,
        buf.subarray(at, Math.min(from + n, at + 8192)) as unknown as number[],
      );
    }
    return text;
  }

  /** The first `n` bytes (at most {@linkcode size}), copied out and consumed. */
  take(n: number): Uint8Array {
    const from = this.#start;
    this.#start += n;
    return this.#buf.slice(from, from + n);
  }

  /** The byte at `offset` from the front, or -1 past the end. */
  peek(offset: number): number {
    return this.#start + offset < this.#end ? this.#buf[this.#start + offset]! : -1;
  }

  /** The offset of the first CRLF at or after `from` (relative to the front), or -1. */
  lineEnd(from = 0): number {
    const buf = this.#buf;
    const first = this.#start + from;
    let i = first;
    for (;;) {
      const lf = buf.indexOf(10, i);
      if (lf === -1 || lf >= this.#end) return -1;
      if (lf > first && buf[lf - 1] === 13) return lf - 1 - this.#start;
      i = lf + 1;
    }
  }

  /** Drops the first `n` bytes. */
  skip(n: number): void {
    this.#start += n;
  }

  /** Moves the unread bytes to the front; doubles the window when they fill more than half of it. */
  #makeRoom(): void {
    const size = this.size;
    if (size * 2 > this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = bigger;
    } else {
      this.#buf.copyWithin(0, this.#start, this.#end);
    }
    this.#scanned = Math.max(0, this.#scanned - this.#start);
    this.#start = 0;
    this.#end = size;
  }
}
