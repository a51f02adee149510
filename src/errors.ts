/**
 * Stable error codes, their HTTP statuses, and the error class that carries them.
 * Codes are the public contract (HTTP bodies, NATS error replies); messages may change.
 * @module
 */

/** Every code a client or a plugin can see. */
export const ErrorCode = {
  InvalidJson: "invalid_json",
  InvalidRequest: "invalid_request",
  /** The request target has dot segments, encoded slashes or backslashes, or empty segments. */
  InvalidPath: "invalid_path",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  PluginNotFound: "plugin_not_found",
  MethodNotFound: "method_not_found",
  NotFound: "not_found",
  MethodNotAllowed: "method_not_allowed",
  /** The request reached the runtime's loopback server without going through the connection guard. */
  MisdirectedRequest: "misdirected_request",
  RequestTimeout: "request_timeout",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  ValidationFailed: "validation_failed",
  RateLimited: "rate_limited",
  PluginError: "plugin_error",
  BadPluginResponse: "bad_plugin_response",
  PluginUnavailable: "plugin_unavailable",
  CircuitOpen: "circuit_open",
  Draining: "draining",
  NoMatchingVersion: "no_matching_version",
  Overloaded: "overloaded",
  Timeout: "timeout",
  Internal: "internal",
} as const;
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** The one code → HTTP status table. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_json: 400,
  invalid_request: 400,
  invalid_path: 400,
  unauthorized: 401,
  forbidden: 403,
  plugin_not_found: 404,
  method_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  misdirected_request: 421,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  plugin_error: 502,
  bad_plugin_response: 502,
  plugin_unavailable: 503,
  circuit_open: 503,
  draining: 503,
  no_matching_version: 503,
  overloaded: 503,
  timeout: 504,
  internal: 500,
};

/** One problem with an input, by dotted path (`""` for the root). */
export interface Issue {
  path: string;
  message: string;
}

export interface SwitchyardErrorOptions extends ErrorOptions {
  /** HTTP status; defaults to the code's status in {@linkcode ERROR_STATUS}. */
  status?: number;
  issues?: readonly Issue[];
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
  headers?: Readonly<Record<string, string>>;
}

/** An error with a stable code and an HTTP status. */
export class SwitchyardError extends Error {
  /** Brand, so copies of this class from another bundle are still recognised. */
  readonly isSwitchyardError = true;
  readonly code: string;
  readonly status: number;
  readonly issues: readonly Issue[] | undefined;
  readonly retryAfter: number | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: string, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SwitchyardError";
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code as ErrorCode] ?? 500;
    this.issues = options.issues;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers;
  }
}

/** True for a {@linkcode SwitchyardError}, from this bundle or another. */
export function isSwitchyardError(err: unknown): err is SwitchyardError {
  return typeof err === "object" && err !== null && (err as { isSwitchyardError?: unknown }).isSwitchyardError === true;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string; issues?: readonly Issue[] };
}

/**
 * The stable code of any error the request path throws: a {@linkcode SwitchyardError}'s, or a bus
 * error's (`src/bus/bus_errors.ts`, recognised by its brand); `internal` for anything else.
 */
export function codeOf(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const e = err as { isSwitchyardError?: unknown; isBusError?: unknown; code?: unknown };
    if ((e.isSwitchyardError === true || e.isBusError === true) && typeof e.code === "string") return e.code;
  }
  return ErrorCode.Internal;
}

/** The HTTP status of any error: a {@linkcode SwitchyardError}'s own, else its code's in the table. */
export function statusOf(err: unknown): number {
  if (isSwitchyardError(err)) return err.status;
  return ERROR_STATUS[codeOf(err) as ErrorCode] ?? 500;
}
