/**
 * The span export worker: receives encoded OTLP batches from {@linkcode WorkerSender} and sends them
 * with the SDK's OTLP/HTTP transport, so HTTP, retries and backoff never run on the event loop that
 * serves requests. The SDK's diagnostics here go back to the main thread's logger.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { diag } from "@opentelemetry/api";
import { createOtlpHttpSender } from "./otlp_http_sender.ts";
import type { EncodedBatch } from "./otlp_http_sender.ts";
import type { FromWorker, ToWorker, WorkerData } from "./worker_sender.ts";

const port = parentPort;
if (port === null) throw new Error("otlp_export_worker.ts runs as a worker thread");
const data = workerData as WorkerData;

const post = (message: FromWorker) => port.postMessage(message);
const forward = (level: "error" | "warn" | "info" | "debug") => (message: string, ...args: unknown[]) =>
  post({ type: "diag", level, message, args: args.map(describe) });
diag.setLogger(
  { error: forward("error"), warn: forward("warn"), info: forward("info"), debug: forward("debug"), verbose: forward("debug") },
  { logLevel: data.logLevel, suppressOverrideMessage: true },
);

const sender = createOtlpHttpSender(data.protocol);
port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "export": {
      const batch: EncodedBatch = { body: new Uint8Array(message.buffer, message.offset, message.length), count: message.count };
      sender.send(batch, (outcome) => post({ type: "done", id: message.id, outcome }));
      break;
    }
    case "flush":
      sender.forceFlush().finally(() => post({ type: "flushed", id: message.id }));
      break;
    case "shutdown":
      sender.shutdown().finally(() => post({ type: "flushed", id: message.id }));
      break;
  }
});

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
