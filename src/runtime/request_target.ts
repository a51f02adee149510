/**
 * Refuses request targets that a proxy in front and the router could read as two different paths:
 * dot segments (`.`, `..`, spelled raw or as `%2e` in any case), encoded slashes and backslashes
 * (`%2F`, `%5C`, `\`), empty segments (`//`), fragments, malformed percent escapes and control
 * bytes. A URL parser resolves `/v1/echo/../admin/delete` to `/v1/admin/delete`, so a rule on
 * `/v1/admin/*` in front is bypassed if the router normalises; the router rejects instead.
 *
 * Each adapter runs this where it still sees the target as the client sent it: node:http's
 * `req.url`, Deno's `request.url` (which Deno does not normalise), and on Bun the raw segments of a
 * route match (`Bun.serve` resolves `request.url`, but matches `routes` on the raw target).
 * @module
 */
import { ErrorCode } from "../errors.ts";
import { createEdgeRefusals } from "./edge_errors.ts";
/** Paths deeper than this are refused (the router's deepest route has 4 segments). */
export const MAX_PATH_SEGMENTS = 16;

/** Anything but a plain path: `%`, `\`, `#`, control bytes, space, DEL, or `//`, or a `.`/`..` segment. */
// deno-lint-ignore no-control-regex -- control bytes in a target are what this looks for
const SUSPECT = /[%\\#\x00-\x20\x7f]|\/\/|\/\.\.?(?:\/|$)/;
const PERCENT = /%(?![0-9A-Fa-f]{2})|%2[Ff]|%5[Cc]/;
const ENCODED_DOT = /%2[Ee]/g;
// deno-lint-ignore no-control-regex -- as above
const CONTROL = /[\x00-\x20\x7f]/;

/**
 * Why the path of a raw request target (origin form `/a/b?q`, or absolute form `http://h/a/b?q`,
 * as Deno's `request.url`) is refused, or `undefined` when it is a plain path.
 */
export function pathProblem(target: string): string | undefined {
  let path = target;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = target.indexOf("://");
    if (scheme <= 0) return "The request target must be a path";
    // Where Hono starts the path of an absolute URL: the first "/" after "scheme://".
    const start = target.indexOf("/", scheme + 3);
    if (start === -1) return undefined;
    path = target.slice(start);
  }
  const query = path.indexOf("?");
  if (query !== -1) path = path.slice(0, query);
  if (SUSPECT.test(path)) return suspectProblem(path);
  return tooDeep(path) ? `The path has more than ${MAX_PATH_SEGMENTS} segments` : undefined;
}

function suspectProblem(path: string): string | undefined {
  if (path.includes("\\")) return "Backslashes are not allowed in the path";
  if (path.includes("#")) return "A fragment is not allowed in the request target";
  if (CONTROL.test(path)) return "Control characters are not allowed in the path";
  if (PERCENT.test(path)) return "Encoded slashes, backslashes and malformed escapes are not allowed in the path";
  if (path.includes("//")) return "Empty path segments are not allowed";
  const decoded = path.replace(ENCODED_DOT, ".");
  if (/\/\.\.?(?:\/|$)/.test(decoded)) return "Dot segments (. and ..) are not allowed in the path";
  return tooDeep(path) ? `The path has more than ${MAX_PATH_SEGMENTS} segments` : undefined;
}

function tooDeep(path: string): boolean {
  let slashes = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47 && ++slashes > MAX_PATH_SEGMENTS) return i < path.length - 1;
  return false;
}

/**
 * Why one path segment, already percent-decoded (a Bun route parameter), is refused: a dot
 * segment, or one holding a slash or backslash.
 */
export function segmentProblem(segment: string): string | undefined {
  if (segment === "." || segment === "..") return "Dot segments (. and ..) are not allowed in the path";
  if (segment.includes("/") || segment.includes("\\")) return "Encoded slashes and backslashes are not allowed in the path";
  return undefined;
}

/**
 * Wraps a fetch handler with the request-target check, for a host whose `request.url` is the target
 * as sent (Deno, Deno Deploy) and that calls the router's `app.fetch` itself:
 * `Deno.serve(checkRequestTargets(app.fetch))`. The runtime adapters check on their own. Where the
 * platform resolves the URL before the handler sees it (Bun, Node's web `Request`, Cloudflare
 * Workers), there is nothing left to refuse.
 */
export function checkRequestTargets<P>(
  fetch: (req: Request, peer?: P) => Response | Promise<Response>,
  refuse = createEdgeRefusals(),
): (req: Request, peer?: P) => Response | Promise<Response> {
  return (req, peer) => {
    const problem = pathProblem(req.url);
    return problem === undefined ? fetch(req, peer) : refuse(ErrorCode.InvalidPath, problem, req.headers.get("x-request-id"));
  };
}
