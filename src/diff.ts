/**
 * The dotted paths where `before` and `after` differ, sorted: `plugins.hello.timeoutMs`,
 * `resilience.breaker.resetMs`. Objects are walked key by key; arrays and other values compare
 * whole (by JSON), so `nats.servers` is one path however its items changed. A key only one side
 * has is a change at that key.
 */
export function diffConfig(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  walk(before, after, "", out);
  return out.sort();
}

/** True when `path` is `prefix` or lies under it (`plugins.a.b` is under `plugins.a`). */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      walk(a[key], b[key], path === "" ? key : `${path}.${key}`, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path === "" ? "(root)" : path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
