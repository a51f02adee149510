import type { MsgHdrs } from "@nats-io/nats-core";
import type { Clock, Logger } from "../deps.ts";
import type { BodySource, RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, MethodEntry, Registry, VersionEntry } from "../registry/mod.ts";
import type { Balancing } from "../balancing/mod.ts";
import type { MethodPolicies } from "../resilience/mod.ts";
import type { CallObserver } from "./observer.ts";
import type { StallWatch } from "./stall_watch.ts";

/** Where one request goes, resolved from the plugin and method names and a version range. */
export interface Target {
  readonly plugin: string;
  readonly method: MethodEntry;
  /** The version picked; a resend after no responders may move to another one the range allows. */
  readonly version: VersionEntry;
  /** The range asked for (`x-plugin-version`, a `ctx.call` option, or the config's rule); `undefined`: the highest stable. */
  readonly range: string | undefined;
  readonly policies: MethodPolicies;
}

/** One request to send. */
export interface Call {
  readonly data: Uint8Array;
  /** Sent with every attempt (a tracer rewrites its trace context per attempt). */
  readonly headers: MsgHdrs;
  /** Epoch ms on the pipeline's clock: every attempt and backoff ends by then. */
  readonly deadline: number;
  /** Idempotent method or an `Idempotency-Key`, and not nested: retries allowed. */
  readonly mayRetry: boolean;
  readonly observer?: CallObserver | undefined;
  /**
   * A streaming method: `send()` resolves with the stream's first message (retries happen only
   * before it), and `attemptTimeoutMs` bounds the wait for it. @default false
   */
  readonly stream?: boolean | undefined;
  /** An attempt waits at most this long for its first reply (a stream's idle timeout). @default until `deadline` */
  readonly attemptTimeoutMs?: number | undefined;
  /** A reply that comes in chunks may be at most this large. @default 64 MiB */
  readonly maxReplyBytes?: number | undefined;
  /**
   * The input, read as it is sent (an HTTP body too large for one message): it goes in chunks, in
   * place of `data`. It cannot be read twice, so give it only with `mayRetry: false`; a resend after
   * no responders to its first chunk is still made (that chunk is kept).
   */
  readonly body?: BodySource | undefined;
  /**
   * A unary reply in chunks resolves `send()` with its first message once its announced size was
   * checked against `maxReplyBytes`; the rest is the caller's to pull from its session
   * (`reply.stream`). @default false: pulled whole within the attempt
   */
  readonly pullReply?: boolean | undefined;
}

/** What the send step works with: the pipeline's parts. */
export interface SendContext {
  readonly registry: Registry;
  readonly mux: RequestMux;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly balancing: Balancing;
  readonly stalls: StallWatch;
  /** Fails the requests waiting on a gone instance (see `RequestPipeline.instanceGone`). */
  instanceGone(instance: InstanceEntry, why: string): number;
  /** Removes an instance nobody listens for any more, and fails what waits on it. */
  instanceDead(instance: InstanceEntry, why: string): void;
}
