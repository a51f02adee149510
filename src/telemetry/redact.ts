/**
 * Redaction of credentials from what a process logs or exports: URLs (`nats://user:pass@host`,
 * `nats://token@host`, `?token=…`), command lines and JSON option values.
 * @module
 */

/** What a secret is replaced with. */
export const REDACTED = "***";

/** Names of flags, query parameters and JSON keys whose values are secrets. */
const SECRET_NAME = /pass|pwd|token|secret|key|auth|sig|cred|jwt|session|seed|cookie/i;
/** `scheme://userinfo@`, or a bare `userinfo@host` (NATS accepts servers without a scheme). */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?([^\s/?#@,]+)@/;
const QUERY_PARAM = /([?&;])([^=&#;]+)=([^&#;]*)/g;

/** True when a flag, query parameter or JSON key of this name holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * `url` with its credentials replaced by `***`: the password of `user:pass@` (the user stays, it
 * helps to tell connections apart), a token given as the whole userinfo (`nats://s3cret@host`), and
 * the values of secret-looking query parameters (`?token=`, `?password=`, `?sig=`). A
 * comma-separated list of URLs (`--nats a,b`) is redacted item by item. Text that is not a URL comes
 * back unchanged.
 */
export function redactUrl(url: string): string {
  if (url.includes(",")) return url.split(",").map(redactOne).join(",");
  return redactOne(url);
}

function redactOne(url: string): string {
  let out = url.replace(USERINFO, (_all, scheme: string | undefined, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    const shown = colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
    return `${scheme ?? ""}${shown}@`;
  });
  if (out.includes("=")) {
    out = out.replace(
      QUERY_PARAM,
      (all, sep: string, name: string) => isSecretName(decodeSafe(name)) ? `${sep}${name}=${REDACTED}` : all,
    );
  }
  return out;
}

/**
 * A command line with its secrets replaced: the value after a secret-looking flag (`--password x`,
 * `--token=x`), credentials in URLs (`--nats nats://u:p@h`), and secret-looking keys of JSON
 * arguments (`--options '{"apiKey":"…"}'`).
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  let secretNext = false;
  for (const arg of args) {
    if (secretNext) {
      out.push(REDACTED);
      secretNext = false;
      continue;
    }
    const flag = /^--?([A-Za-z][A-Za-z0-9_-]*)(=([^]*))?$/.exec(arg);
    if (flag !== null) {
      const [, name, withValue, value] = flag;
      if (isSecretName(name!)) {
        if (withValue === undefined) secretNext = true;
        out.push(withValue === undefined ? arg : `--${name}=${REDACTED}`);
      } else out.push(withValue === undefined ? arg : `--${name}=${redactValue(value!)}`);
      continue;
    }
    out.push(redactValue(arg));
  }
  return out;
}

/** A JSON value with the values of secret-looking keys replaced and URLs in strings redacted. */
export function redactJson(value: unknown): unknown {
  if (typeof value === "string") return redactUrl(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretName(k) && v !== null && typeof v !== "object" ? REDACTED : redactJson(v);
    }
    return out;
  }
  return value;
}

function redactValue(arg: string): string {
  const first = arg.trimStart()[0];
  if (first === "{" || first === "[") {
    try {
      return JSON.stringify(redactJson(JSON.parse(arg)));
    } catch {
      // not JSON: treat it as text
    }
  }
  return redactUrl(arg);
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
