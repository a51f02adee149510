import { Worker } from "node:worker_threads";
import { diag } from "@opentelemetry/api";
import type { DiagLogLevel } from "@opentelemetry/api";
import { createOtlpHttpSender } from "./otlp_http_sender.ts";
import type { BatchOutcome, BatchSender, EncodedBatch, OtlpHttpProtocol } from "./otlp_http_sender.ts";

/** Messages to the export worker. */
export type ToWorker =
  | { type: "export"; id: number; buffer: ArrayBuffer; offset: number; length: number; count: number }
  | { type: "flush"; id: number }
  | { type: "shutdown"; id: number };

/** Messages from the export worker. */
export type FromWorker =
  | { type: "done"; id: number; outcome: BatchOutcome }
  | { type: "flushed"; id: number }
  | { type: "diag"; level: "error" | "warn" | "info" | "debug"; message: string; args: string[] };

/** What the export worker starts with. */
export interface WorkerData {
  logLevel: DiagLogLevel;
  protocol: OtlpHttpProtocol;
}

/** Options of {@linkcode WorkerSender}. */
export interface WorkerSenderOptions {
  /** The SDK's diagnostics level in the worker (its messages come back to this thread's `diag`). */
  logLevel: DiagLogLevel;
  /** How batches go over the wire. @default "http/protobuf" */
  protocol?: OtlpHttpProtocol;
  /** The sender used if the worker cannot start or dies. @default the SDK's OTLP/HTTP transport here */
  fallback?: () => BatchSender;
  /** The worker's entry module. @default otlp_export_worker.ts beside this file */
  workerUrl?: URL;
}

/**
 * Sends batches through a worker thread (`node:worker_threads`, the same on Deno, Bun and Node):
 * each batch's buffer is transferred, not copied, and the HTTP export, its retries and backoff run
 * on the worker's event loop. The worker does not keep the process alive. If it fails to start (a
 * sandbox that may not read its module) or dies, the batches it held are reported failed and later
 * ones are sent from this thread instead.
 */
export class WorkerSender implements BatchSender {
  readonly #fallback: () => BatchSender;
  #worker: Worker | undefined;
  #inline: BatchSender | undefined;
  #seq = 0;
  readonly #pending = new Map<number, (outcome: BatchOutcome) => void>();
  readonly #flushes = new Map<number, () => void>();
  #closing = false;
  #failed = false;

  constructor(options: WorkerSenderOptions) {
    const protocol = options.protocol ?? "http/protobuf";
    this.#fallback = options.fallback ?? (() => createOtlpHttpSender(protocol));
    try {
      const worker = new Worker(options.workerUrl ?? new URL("./otlp_export_worker.ts", import.meta.url), {
        workerData: { logLevel: options.logLevel, protocol } satisfies WorkerData,
        // It holds a few batches at most (OTEL_BSP_MAX_QUEUE_SIZE spans, under 1 MiB): a small young
        // generation saved 18 MiB of RSS on Node and 12 on Deno after 220 batches, nothing on Bun.
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 },
      });
      worker.on("message", (message: FromWorker) => this.#onMessage(message));
      worker.on("error", (err: Error) => this.#lost(err.message));
      worker.on("exit", (code: number) => this.#lost(`exited with code ${code}`));
      worker.unref();
      this.#worker = worker;
    } catch (err) {
      this.#lost(err instanceof Error ? err.message : String(err));
    }
  }

  /** True while batches go through the worker (false once it failed and this thread sends them). */
  get usingWorker(): boolean {
    return this.#worker !== undefined;
  }

  send(batch: EncodedBatch, done: (outcome: BatchOutcome) => void): void {
    const worker = this.#worker;
    if (worker === undefined) return this.#inlineSender().send(batch, done);
    const id = ++this.#seq;
    this.#pending.set(id, done);
    const body = batch.body;
    // The ArrayBuffer itself, transferred: a typed array in a message is copied element by element
    // on Deno (tens of ms for a batch) and is slower on Node and Bun too.
    const message: ToWorker = { type: "export", id, buffer: body.buffer as ArrayBuffer, offset: body.byteOffset, length: body.byteLength, count: batch.count };
    worker.postMessage(message, [message.buffer]);
  }

  forceFlush(): Promise<void> {
    return this.#ask("flush");
  }

  async shutdown(): Promise<void> {
    await this.#ask("shutdown");
    this.#closing = true;
    await this.#worker?.terminate();
    this.#worker = undefined;
    await this.#inline?.shutdown();
  }

  #ask(type: "flush" | "shutdown"): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return type === "flush" ? (this.#inline?.forceFlush() ?? Promise.resolve()) : Promise.resolve();
    const id = ++this.#seq;
    // Waiting for the answer keeps the process alive; the rest of the time the worker does not.
    worker.ref();
    return new Promise<void>((resolve) => {
      this.#flushes.set(id, resolve);
      worker.postMessage({ type, id } satisfies ToWorker);
    });
  }

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case "done": {
        const done = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        done?.(message.outcome);
        break;
      }
      case "flushed": {
        const resolve = this.#flushes.get(message.id);
        this.#flushes.delete(message.id);
        if (this.#flushes.size === 0) this.#worker?.unref();
        resolve?.();
        break;
      }
      case "diag":
        diag[message.level](message.message, ...message.args);
        break;
    }
  }

  /** The worker is gone: what it held is lost, what comes next is sent from this thread. */
  #lost(reason: string): void {
    if (this.#closing || this.#failed) return;
    this.#failed = true;
    diag.error(`span export worker failed (${reason}): exporting from the main thread`);
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    for (const done of this.#pending.values()) done(`export worker failed: ${reason}`);
    this.#pending.clear();
    for (const resolve of this.#flushes.values()) resolve();
    this.#flushes.clear();
  }

  #inlineSender(): BatchSender {
    return this.#inline ??= this.#fallback();
  }
}
