/**
 * What can go wrong with one request on the bus, as typed errors. They carry a stable code from
 * the error table (`src/errors.ts`) but no HTTP status: only the router turns codes into statuses.
 * @module
 */
import { ErrorCode } from "../errors.ts";

/** Why a request got no reply. */
export type BusFailure = "no_responders" | "timeout" | "lost" | "disconnected";

/** What a caller is told of a request that got no reply (the error's own message names subjects). */
export const BUS_FAILURE_MESSAGE: Readonly<Record<BusFailure, string>> = {
  no_responders: "No instance of the plugin is available",
  timeout: "No reply from the plugin before the deadline",
  lost: "The instance serving the request is gone",
  disconnected: "The connection to NATS dropped while waiting for the reply",
};

/** A request that got no reply. */
export class BusError extends Error {
  /** Brand, for copies of this class from another bundle. */
  readonly isBusError = true;
  readonly failure: BusFailure;
  /** The stable code (`plugin_unavailable` or `timeout`). */
  readonly code: string;
  /** Where the request went. */
  readonly subject: string;

  constructor(failure: BusFailure, subject: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusError";
    this.failure = failure;
    this.subject = subject;
    this.code = failure === "timeout" ? ErrorCode.Timeout : ErrorCode.PluginUnavailable;
  }

  /**
   * True when the request surely did not run: nobody was subscribed, so a resend cannot run it twice.
   * A request that timed out or was lost with its responder may have run.
   */
  get unsent(): boolean {
    return this.failure === "no_responders";
  }
}

/** Nobody listens on the subject: the server answered at once, the request ran nowhere. */
export class NoRespondersError extends BusError {
  constructor(subject: string) {
    super("no_responders", subject, `No instance is listening on "${subject}"`);
    this.name = "NoRespondersError";
  }
}

/** No reply before the deadline. */
export class BusTimeoutError extends BusError {
  constructor(subject: string, timeoutMs: number) {
    super("timeout", subject, `No reply from "${subject}" within ${timeoutMs} ms`);
    this.name = "BusTimeoutError";
  }
}

/**
 * Published, but its responder is known to be gone (it died, drained away or lost its connection):
 * the reply will never come. It may have run, so only an idempotent request is sent again.
 */
export class RequestLostError extends BusError {
  constructor(subject: string, why: string) {
    super("lost", subject, `Request to "${subject}" was lost: ${why}`);
    this.name = "RequestLostError";
  }
}

/** This side's connection dropped or closed while the request waited: its reply cannot arrive. */
export class DisconnectedError extends BusError {
  constructor(subject: string, why: string) {
    super("disconnected", subject, `Request to "${subject}" failed: ${why}`);
    this.name = "DisconnectedError";
  }
}

/** True for a {@linkcode BusError}, from this bundle or another. */
export function isBusError(err: unknown): err is BusError {
  return typeof err === "object" && err !== null && (err as { isBusError?: unknown }).isBusError === true;
}
