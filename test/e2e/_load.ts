/** Bounded HTTP load from the test process: `total` POSTs, `concurrency` at a time. */
export interface LoadResult {
  total: number;
  /** Responses by status. */
  statuses: Map<number, number>;
  /** 200 responses by `x-plugin-instance`. */
  instances: Map<string, number>;
  /** 200 responses by `x-plugin-version`. */
  versions: Map<string, number>;
  /** Non-200 responses. */
  errors: number;
  ms: number;
}

export async function runLoad(
  url: string,
  options: { total: number; concurrency: number; body?: unknown; headers?: Record<string, string> },
): Promise<LoadResult> {
  const result: LoadResult = { total: options.total, statuses: new Map(), instances: new Map(), versions: new Map(), errors: 0, ms: 0 };
  const body = JSON.stringify(options.body ?? {});
  const headers = { "content-type": "application/json", ...options.headers };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < options.total) {
      next++;
      const res = await fetch(url, { method: "POST", headers, body });
      await res.arrayBuffer();
      result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
      if (res.status !== 200) {
        result.errors++;
        continue;
      }
      const instance = res.headers.get("x-plugin-instance") ?? "";
      const version = res.headers.get("x-plugin-version") ?? "";
      result.instances.set(instance, (result.instances.get(instance) ?? 0) + 1);
      result.versions.set(version, (result.versions.get(version) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  result.ms = performance.now() - t0;
  return result;
}

/** `part` of `total` in percent, one decimal. */
export const pct = (part: number, total: number): number => Math.round((part / total) * 1000) / 10;
