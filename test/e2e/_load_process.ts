/**
 * A load generator run as its own process: `concurrency` clients POST JSON to `url` until
 * `durationMs` has passed, `maxRequests` have started, or SIGTERM/SIGINT arrives; then it waits
 * for the requests in flight and prints one line `LOAD_RESULT {"records":[…]}`. On the way it
 * prints `load: running` after the first response and `load: <n> done at <epoch ms>` every 25 responses.
 * Each record: [start, end, status, version, instance, code, clean, field] with epoch-ms times,
 * the `x-plugin-version`/`x-plugin-instance` of a 200, the error code of anything else (`fetch:`
 * and a message when the connection failed), whether an error was clean JSON, and the value of
 * `field` in a 200 body when asked for.
 *   node _load_process.ts '{"url":"http://127.0.0.1:8080/v1/hello/greet","concurrency":16,"durationMs":2000}'
 */
interface LoadSpec {
  url: string;
  concurrency: number;
  durationMs: number;
  maxRequests?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A top-level field of the 200 body to record, e.g. `added`. */
  field?: string;
}

type LoadRecord = [number, number, number, string, string, string, boolean, unknown];

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
if (typeof spec.url !== "string" || !(spec.concurrency > 0) || !(spec.durationMs > 0)) {
  process.stderr.write("usage: _load_process.ts '{\"url\":…,\"concurrency\":16,\"durationMs\":2000}'\n");
  process.exit(2);
}
const maxRequests = Math.min(spec.maxRequests ?? 100_000, 100_000);
const body = JSON.stringify(spec.body ?? {});
const headers = { "content-type": "application/json", ...spec.headers };
const records: LoadRecord[] = [];
const end = Date.now() + Math.min(spec.durationMs, 60_000);
let started = 0;
let stopping = false;
let announced = false;

const stop = () => {
  stopping = true;
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

async function one(): Promise<void> {
  const t0 = Date.now();
  try {
    const res = await fetch(spec.url, { method: "POST", headers, body });
    const text = await res.text();
    if (res.status === 200) {
      let field: unknown;
      if (spec.field !== undefined) {
        try {
          field = (JSON.parse(text) as Record<string, unknown>)[spec.field];
        } catch {
          field = undefined;
        }
      }
      records.push([t0, Date.now(), 200, res.headers.get("x-plugin-version") ?? "", res.headers.get("x-plugin-instance") ?? "", "", true, field]);
    } else {
      let code = "";
      let clean = false;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: unknown } };
        code = typeof parsed.error?.code === "string" ? parsed.error.code : "";
        clean = code !== "" && (res.headers.get("content-type") ?? "").startsWith("application/json");
      } catch {
        code = `unparsable: ${text.slice(0, 80)}`;
      }
      records.push([t0, Date.now(), res.status, "", "", code, clean, undefined]);
    }
  } catch (err) {
    records.push([t0, Date.now(), 0, "", "", `fetch: ${(err as Error).message}`, false, undefined]);
  }
  if (!announced) {
    announced = true;
    process.stdout.write("load: running\n");
  }
  if (records.length % 25 === 0) process.stdout.write(`load: ${records.length} done at ${Date.now()}\n`);
}

async function worker(): Promise<void> {
  while (!stopping && started < maxRequests && Date.now() < end) {
    started++;
    await one();
  }
}

await Promise.all(Array.from({ length: spec.concurrency }, worker));
// Exit only once the line is out: stdout to a pipe is asynchronous, and exit() would cut it.
process.stdout.write(`LOAD_RESULT ${JSON.stringify({ records })}\n`, () => process.exit(0));
