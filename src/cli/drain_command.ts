import { PLUGIN_NAME } from "../bus/mod.ts";
import { cliCommand, parseFlags, print, printError, shellQuote, UsageError } from "./command.ts";
import type { Command } from "./command.ts";

const DEFAULT_ROUTER = "http://127.0.0.1:8080";

const ROUTER_HELP = `  --router URL        the router (default: $SWITCHYARD_ROUTER or http://127.0.0.1:8080)
  --token TOKEN       the router's admin.token (default: $SWITCHYARD_ADMIN_TOKEN)`;

export const drainCommand: Command = {
  name: "drain",
  summary: "stop a router routing to a plugin and wait for its in-flight requests",
  usage: `Usage: switchyard drain <plugin> [--router URL] [--timeout MS] [--force] [--resume]

Asks the router (POST /admin/plugins/<plugin>/drain; the router needs admin.enabled) to stop
routing to the plugin: new requests get 503 draining, requests in flight finish. Prints progress,
then the result. Exit code 0 when nothing is left in flight, 1 when requests still run at the
timeout (without --force). The plugin stays drained until --resume.
${ROUTER_HELP}
  --timeout MS        how long to wait (default: the router's router.drainTimeoutMs)
  --force             abort what is still in flight at the timeout (503 draining)
  --resume            route to the plugin again instead`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      router: { type: "string" },
      token: { type: "string" },
      timeout: { type: "string" },
      force: { type: "boolean" },
      resume: { type: "boolean" },
    });
    const plugin = positionals[0];
    if (plugin === undefined || !PLUGIN_NAME.test(plugin)) throw new UsageError(`Name the plugin to drain, e.g. ${cliCommand()} drain hello`);
    const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 0)) throw new UsageError("--timeout must be milliseconds");
    const base = (values.router ?? process.env.SWITCHYARD_ROUTER ?? DEFAULT_ROUTER).replace(/\/+$/, "");
    const token = values.token ?? process.env.SWITCHYARD_ADMIN_TOKEN;
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/x-ndjson" };
    if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
    const url = `${base}/admin/plugins/${plugin}/${values.resume ? "resume" : "drain"}`;
    const body = values.resume ? "{}" : JSON.stringify({ ...(timeoutMs === undefined ? {} : { timeoutMs }), force: values.force ?? false });
    let res: Response;
    try {
      res = await fetch(url, { method: "POST", headers, body });
    } catch (err) {
      printError(`switchyard drain: cannot reach the router at ${base}: ${(err as Error).message}`);
      return 1;
    }
    if (res.status !== 200) {
      const text = await res.text();
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        message = `${res.status} ${parsed.error?.code}: ${parsed.error?.message}`;
      } catch {
        // not a JSON error
      }
      printError(`switchyard drain: ${message}`);
      return 1;
    }
    if (values.resume) {
      const result = await res.json() as { resumed: boolean };
      print(result.resumed ? `${plugin}: routed to again` : `${plugin}: was not drained`);
      return 0;
    }
    let last: { remaining: number; drained: boolean; aborted: number; inflightAtStart: number; elapsedMs: number } | undefined;
    // The router reports at the start, every second and at the end: print a count once, when it
    // changes, and not the final 0 that the result line states.
    let shown: number | undefined;
    for await (const line of lines(res.body!)) {
      const event = JSON.parse(line) as { type: string; inflight?: number; elapsedMs: number } & NonNullable<typeof last>;
      if (event.type !== "progress") last = event;
      else if (event.inflight !== shown && (event.inflight !== 0 || shown === undefined)) {
        shown = event.inflight;
        print(`${plugin}: ${event.inflight} in flight (${(event.elapsedMs / 1000).toFixed(1)} s)`);
      }
    }
    if (last === undefined) {
      printError("switchyard drain: the router closed the connection before the result");
      return 1;
    }
    const what = last.drained
      ? "drained"
      : last.remaining === 0
      ? `timed out; aborted ${last.aborted}`
      : `timed out with ${last.remaining} still in flight`;
    const router = base === DEFAULT_ROUTER ? "" : ` --router ${shellQuote(base)}`;
    print(`${plugin}: ${what} (${last.inflightAtStart} in flight at the start, ${last.elapsedMs} ms). New requests get 503 draining until "${cliCommand()} drain ${plugin}${router} --resume".`);
    return last.remaining === 0 ? 0 : 1;
  },
};

/** The lines of a streamed body. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, at).trim();
      buffered = buffered.slice(at + 1);
      if (line !== "") yield line;
    }
  }
  if (buffered.trim() !== "") yield buffered.trim();
}
