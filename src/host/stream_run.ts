import * as v from "valibot";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { context } from "@opentelemetry/api";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../deps.ts";
import type { WireError } from "../bus/mod.ts";
import type { StreamMethodDefinition } from "../plugin/mod.ts";
import type { HandlerTrace } from "../telemetry/mod.ts";
import type { RequestContext } from "./request_context.ts";
import type { SessionTable } from "./session_table.ts";
import { toIssues } from "./issues.ts";

const encoder = new TextEncoder();
/** Bytes of a stream message kept for its headers: an item must fit in `max_payload` less this. */
const ITEM_HEADROOM = 1024;

/** What running a stream needs of its dispatcher. */
export interface StreamRunner {
  readonly sessions: SessionTable;
  readonly logger: Logger;
  /** The server's `max_payload`, when known. */
  maxPayload(): number | undefined;
  /** The wire error of what a handler threw. */
  handlerError(err: unknown, ctx: RequestContext): WireError;
}

/** One call of a streaming method. */
export interface StreamRun {
  /** The request, answered with the stream's first message. */
  readonly msg: Msg;
  readonly hdrs: MsgHdrs | undefined;
  readonly method: StreamMethodDefinition;
  /** The input, parsed by the method's schema. */
  readonly input: unknown;
  readonly ctx: RequestContext;
  readonly span: HandlerTrace | undefined;
}

/**
 * Runs a streaming method: asks its generator for items only while the caller has room for them
 * (see {@linkcode ItemStream}), checks each against the method's output schema and sends it, and
 * ends the stream with the generator, or with the error it threw. A generator left before its
 * end (the caller went away, a drain, a bad item) is closed with `return()`, so its `finally` runs.
 * Resolves with the error the stream ended with, once its last message is out (or it was cancelled).
 * The caller checked that the request pulls (`sy-chunks: 1`).
 */
export async function runStream(runner: StreamRunner, run: StreamRun): Promise<WireError | undefined> {
  const { method, input, ctx, span } = run;
  const stream = runner.sessions.openStream(run.msg, run.hdrs, (reason) => ctx.abandon(reason));
  let error: WireError | undefined;
  let iterator: AsyncIterator<unknown> | undefined;
  let finished = false;
  try {
    const items = span === undefined
      ? method.handler(input, ctx)
      : context.with(span.ctx, method.handler, undefined, input, ctx);
    iterator = (items as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    for (;;) {
      const room = stream.room();
      if (!(room === true || (room !== false && await room))) break;
      const next = span === undefined
        ? await iterator.next()
        : await context.with(span.ctx, () => iterator!.next());
      if (next.done === true) {
        finished = true;
        break;
      }
      const item = encodeItem(runner, method, next.value, ctx);
      if (!(item instanceof Uint8Array)) {
        error = item;
        break;
      }
      stream.push(item);
    }
  } catch (err) {
    finished = true;
    error = runner.handlerError(err, ctx);
  } finally {
    if (!finished && iterator?.return !== undefined) {
      try {
        await iterator.return();
      } catch (err) {
        ctx.logger.warn("the stream's generator threw while it was closed", {
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    ctx.dispose();
  }
  if (error === undefined && stream.stopReason === undefined && ctx.expired) {
    error = { status: 504, code: ErrorCode.Timeout, message: "The deadline passed before the stream ended" };
  }
  stream.finish(error);
  await stream.closed;
  return error;
}

/** An item as JSON bytes, or why it cannot be sent. */
function encodeItem(
  runner: StreamRunner,
  method: StreamMethodDefinition,
  value: unknown,
  ctx: RequestContext,
): Uint8Array | WireError {
  const checked = v.safeParse(method.output, value);
  if (!checked.success) {
    ctx.logger.error("stream item does not match the output schema", { issues: toIssues(checked.issues) });
    return {
      status: 502,
      code: ErrorCode.BadPluginResponse,
      message: "The plugin streamed an item that does not match its schema",
    };
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(checked.output);
  } catch (err) {
    ctx.logger.error("stream item cannot be encoded as JSON", { error: String(err) });
  }
  if (text === undefined) {
    return {
      status: 502,
      code: ErrorCode.BadPluginResponse,
      message: "The plugin streamed an item that is not JSON",
    };
  }
  const bytes = encoder.encode(text);
  const limit = runner.maxPayload();
  if (limit !== undefined && bytes.length > limit - ITEM_HEADROOM) {
    ctx.logger.error("stream item is larger than the server's max_payload", {
      bytes: bytes.length,
      maxPayload: limit,
    });
    return {
      status: 502,
      code: ErrorCode.BadPluginResponse,
      message:
        `A streamed item (${bytes.length} bytes) is larger than the bus carries (max_payload ${limit} bytes)`,
    };
  }
  return bytes;
}
