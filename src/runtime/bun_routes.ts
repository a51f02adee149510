/**
 * `Bun.serve` resolves dot segments (and `%2e` spellings, and backslashes taken for slashes) before
 * the handler sees `request.url`, so the target as sent is gone by then. Its `routes`, however, are
 * matched on the raw target: a route of N parameters matches exactly the paths of N raw segments
 * and hands them over percent-decoded. These routes cover every path of up to
 * {@linkcode MAX_PATH_SEGMENTS} segments, each one a parameter, so a dot segment, an encoded slash
 * or a backslash shows in `request.params` and is refused. What matches none of them (empty
 * segments, deeper paths) reaches the fallback, which refuses it too.
 *
 * This rests on how Bun 1.4 matches routes; the path tests (`test/e2e/request_target_test.ts`) fail
 * if a Bun release starts matching on the resolved path instead.
 * @module
 */
import { ErrorCode } from "../errors.ts";
import { MAX_PATH_SEGMENTS, pathProblem, segmentProblem } from "./request_target.ts";

/** What `Bun.serve` gives a route handler. */
export interface BunRouteRequest extends Request {
  readonly params: Readonly<Record<string, string>>;
}

/** Why a request is refused before the router sees it. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** Serves one request; `refusal` says why it is refused, if it is. */
export type CheckedHandler<S> = (req: Request, server: S, refusal: Refusal | undefined) => Response | Promise<Response>;

type Handler<S, R extends Request> = (req: R, server: S) => Response | Promise<Response>;

/** Why a request, as its route matched it, is refused; `undefined` when its target was a plain path. */
export function bunPathProblem(req: BunRouteRequest): string | undefined {
  const params = req.params;
  for (const name in params) {
    const problem = segmentProblem(params[name]!);
    if (problem !== undefined) return problem;
  }
  // Percent escapes, fragments and the like survive in the resolved URL.
  return pathProblem(req.url);
}

/**
 * The routes and fallback for `Bun.serve({ routes, fetch })`: `serve` runs for every request, with
 * why it is refused when it is: its raw path, or no `Host` (Bun answers an HTTP/1.1 request
 * without one itself; an HTTP/1.0 one gets a relative `request.url` no router can route).
 */
export function bunPathRoutes<S>(serve: CheckedHandler<S>): { routes: Record<string, Handler<S, BunRouteRequest>>; fetch: Handler<S, Request> } {
  const checked: Handler<S, BunRouteRequest> = (req, server) => {
    const problem = bunPathProblem(req);
    if (problem !== undefined) return serve(req, server, { code: ErrorCode.InvalidPath, message: problem });
    return serve(req, server, req.headers.has("host") ? undefined : NO_HOST);
  };
  const routes: Record<string, Handler<S, BunRouteRequest>> = { "/": checked };
  let pattern = "";
  for (let i = 1; i <= MAX_PATH_SEGMENTS; i++) {
    pattern += `/:s${i}`;
    routes[pattern] = checked;
    routes[`${pattern}/`] = checked;
  }
  const fetch: Handler<S, Request> = (req, server) => serve(req, server, { code: ErrorCode.InvalidPath, message: pathProblem(req.url) ?? OTHER_SHAPES });
  return { routes, fetch };
}

const OTHER_SHAPES = `Empty path segments, and paths of more than ${MAX_PATH_SEGMENTS} segments, are not allowed`;
const NO_HOST: Refusal = { code: ErrorCode.InvalidRequest, message: "The Host header is required" };
