/**
 * A protobuf writer tuned for OTLP spans: one growable buffer, no allocation per field, nested
 * messages length-prefixed in place. Produces the same bytes as the OpenTelemetry SDK's own writer
 * (minimal varints), so an export reads exactly as the SDK's would.
 * @module
 */

const encoder = new TextEncoder();

/** Appends protobuf fields to a growable byte buffer. */
export class ProtoWriter {
  /** The bytes written so far are `buf.subarray(0, pos)`. */
  buf: Uint8Array;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.#grow(n);
  }

  #grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Hands the written bytes over and starts a fresh buffer of `nextSize` bytes. */
  take(nextSize = this.buf.length): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(nextSize);
    this.pos = 0;
    return out;
  }

  /** A field key: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  tag(field: number, wire: number): void {
    this.varint32((field << 3) | wire);
  }

  /** An unsigned varint below 2^32. */
  varint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    let v = value >>> 0;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** An int64 varint from a JS integer (negative ones in two's complement, ten bytes). */
  varint64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) return this.varint32(value);
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 4294967296) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 4294967296) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.ensure(10);
    const buf = this.buf;
    while (high > 0 || low > 127) {
      buf[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 127;
  }

  fixed32(value: number): void {
    this.ensure(4);
    const buf = this.buf;
    const v = value >>> 0;
    buf[this.pos++] = v & 255;
    buf[this.pos++] = (v >>> 8) & 255;
    buf[this.pos++] = (v >>> 16) & 255;
    buf[this.pos++] = v >>> 24;
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = low & 255;
    buf[p++] = (low >>> 8) & 255;
    buf[p++] = (low >>> 16) & 255;
    buf[p++] = low >>> 24;
    buf[p++] = high & 255;
    buf[p++] = (high >>> 8) & 255;
    buf[p++] = (high >>> 16) & 255;
    buf[p++] = high >>> 24;
    this.pos = p;
  }

  double(value: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).setFloat64(0, value, true);
    this.pos += 8;
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Most strings here are short ASCII: write them straight after a one-byte length.
      this.ensure(n + 1);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    this.#utf8(s);
  }

  #utf8(s: string): void {
    // At most 3 bytes per UTF-16 unit; write after a 5-byte gap, then close it up.
    const max = s.length * 3;
    this.ensure(max + 5);
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.pos + 5, this.pos + 5 + max));
    const start = this.pos + 5;
    this.varint32(written);
    this.buf.copyWithin(this.pos, start, start + written);
    this.pos += written;
  }

  /**
   * A whole `KeyValue` (in field `field` < 16) whose key and string value are ASCII and together at
   * most 121 characters, so every length fits one byte and is known before writing: no nested
   * message to open and close. Returns false, having written nothing, for anything else.
   */
  asciiKeyValue(field: number, key: string, value: string): boolean {
    const kb = asciiBytes(key);
    if (kb === undefined) return false;
    const k = kb.length;
    const v = value.length;
    if (k + v > 121) return false;
    this.ensure(k + v + 8);
    const buf = this.buf;
    const p = this.pos;
    let q = p + 4;
    for (let i = 0; i < k; i++) buf[q++] = kb[i]!;
    buf[q++] = 0x12;
    buf[q++] = v + 2;
    buf[q++] = 0x0a;
    buf[q++] = v;
    for (let i = 0; i < v; i++) {
      const c = value.charCodeAt(i);
      if (c > 127) return false;
      buf[q++] = c;
    }
    buf[p] = (field << 3) | 2;
    buf[p + 1] = k + v + 6;
    buf[p + 2] = 0x0a;
    buf[p + 3] = k;
    this.pos = q;
    return true;
  }

  /** As {@linkcode asciiKeyValue}, for an integer value in [0, 2^28) (an `int_value`, at most 4 varint bytes). */
  asciiKeyInt(field: number, key: string, value: number): boolean {
    const kb = asciiBytes(key);
    if (kb === undefined) return false;
    const k = kb.length;
    if (k > 118) return false;
    this.ensure(k + 12);
    const buf = this.buf;
    const p = this.pos;
    let q = p + 4;
    for (let i = 0; i < k; i++) buf[q++] = kb[i]!;
    buf[q++] = 0x12;
    const lenAt = q++;
    buf[q++] = 0x18;
    const start = q;
    let n = value;
    while (n > 127) {
      buf[q++] = (n & 127) | 128;
      n >>>= 7;
    }
    buf[q++] = n;
    const av = q - start + 1;
    buf[lenAt] = av;
    buf[p] = (field << 3) | 2;
    buf[p + 1] = k + 4 + av;
    buf[p + 2] = 0x0a;
    buf[p + 3] = k;
    this.pos = q;
    return true;
  }

  /** Length-prefixed raw bytes. */
  bytes(b: Uint8Array): void {
    this.varint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed bytes from a hex string (trace and span ids); `hex` has an even length below 256. */
  hex(hex: string): void {
    const n = hex.length >>> 1;
    this.ensure(n + 1);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = n;
    for (let i = 0; i < 2 * n; i += 2) buf[p++] = (NIBBLE[hex.charCodeAt(i) & 127]! << 4) | NIBBLE[hex.charCodeAt(i + 1) & 127]!;
    this.pos = p;
  }

  /**
   * Opens a nested message: reserves `reserve` bytes for its length (1 for small messages, 2 for a
   * span) and returns where it starts, for {@linkcode close}.
   */
  open(reserve: 1 | 2): number {
    this.ensure(reserve);
    const at = this.pos;
    this.pos += reserve;
    return at * 4 + reserve;
  }

  /** Writes the length of the message {@linkcode open} returned `mark` for, moving it if needed. */
  close(mark: number): void {
    const reserve = mark & 3;
    const at = (mark - reserve) / 4;
    const bodyStart = at + reserve;
    const length = this.pos - bodyStart;
    const size = length < 128 ? 1 : length < 16384 ? 2 : length < 2097152 ? 3 : length < 268435456 ? 4 : 5;
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copyWithin(at + size, bodyStart, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let v = length;
    let p = at;
    while (v > 127) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p] = v;
  }
}

/**
 * Attribute keys as bytes: a key is one of a few constants, and copying its bytes is cheaper than
 * reading it a character at a time (`charCodeAt` on strings of several representations is slow).
 */
const keyBytes = new Map<string, Uint8Array | null>();
/** Keys are few; a program that makes them up per span does not grow the cache without end. */
const KEY_CACHE_SIZE = 512;

/** `key` as bytes if it is ASCII and at most 118 characters, else `undefined`. */
function asciiBytes(key: string): Uint8Array | undefined {
  let bytes = keyBytes.get(key);
  if (bytes === undefined) {
    bytes = null;
    if (key.length <= 118) {
      const b = new Uint8Array(key.length);
      let i = 0;
      for (; i < key.length; i++) {
        const c = key.charCodeAt(i);
        if (c > 127) break;
        b[i] = c;
      }
      if (i === key.length) bytes = b;
    }
    if (keyBytes.size >= KEY_CACHE_SIZE) keyBytes.clear();
    keyBytes.set(key, bytes);
  }
  return bytes ?? undefined;
}

/** Hex digit (0-9, a-f, A-F) → its value. */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[97 + i] = NIBBLE[65 + i] = 10 + i;
