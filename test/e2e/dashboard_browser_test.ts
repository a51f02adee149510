/**
 * The dashboard page in a real headless Chromium (driven over the DevTools protocol, no test
 * library): it renders the live plugins and errors, shows a trace's waterfall, and takes an action
 * with its confirmation. Skipped, saying so, where Chromium is not installed
 * (`apt-get install chromium`).
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { pluginTraceEnv } from "../../src/cli/dev_command.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { CLI, fixturePath } from "./_stack.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p)
);
const skip = CHROMIUM === undefined
  ? "Chromium is not installed (apt-get install chromium): the page's browser test is skipped"
  : false;

/** A DevTools protocol session on one page, over the page's own WebSocket. */
class PageSession {
  readonly #ws: WebSocket;
  #id = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method === "Page.javascriptDialogOpening") {
        // confirm() and alert(): the user says yes.
        void this.send("Page.handleJavaScriptDialog", { accept: true });
      }
    });
  }

  static async open(url: string): Promise<PageSession> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot reach ${url}`)), { once: true });
    });
    const page = new PageSession(ws);
    await page.send("Page.enable", {});
    return page;
  }

  send(method: string, params: Record<string, unknown>): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates `expression` in the page and returns its value. */
  async eval<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true }) as {
      result: { value: T };
      exceptionDetails?: unknown;
    };
    if (result.exceptionDetails !== undefined) {
      throw new Error(`${expression}: ${JSON.stringify(result.exceptionDetails)}`);
    }
    return result.result.value;
  }

  close(): void {
    this.#ws.close();
  }
}

describe("the dashboard page in headless Chromium", { skip }, () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let plugin: ProcessHandle;
  let chromium: ProcessHandle;
  let page: PageSession;
  let profile: string;
  let url: string;

  before(async () => {
    nats = await startNatsServer();
    router = await startRouter(
      resolveConfig({
        nats: { servers: [nats.url] },
        router: { host: "127.0.0.1", port: 0, traces: { enabled: true } },
        admin: { enabled: true },
      }, {}),
      captureLogger(),
      { env: {} },
    );
    url = `http://127.0.0.1:${router.port}`;
    const env = {
      ...pluginTraceEnv(url, {}),
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
    };
    plugin = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, ["plugin", fixturePath("traced"), "--nats", nats.url]),
      { name: "traced", env },
    );
    await plugin.waitForLine("plugin ready", 20_000);
    await waitFor(() => Boolean(router.registry.pick("traced", undefined)), { timeoutMs: 10_000 });
    profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
    chromium = spawnProcess([
      CHROMIUM!,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ], { name: "chromium" });
    const line = await chromium.waitForLine("DevTools listening on", 30_000);
    const port = new URL(/ws:\/\/\S+/.exec(line)![0]).port;
    const target =
      await (await fetch(`http://127.0.0.1:${port}/json/new?${url}/dashboard`, { method: "PUT" })).json() as {
        webSocketDebuggerUrl: string;
      };
    page = await PageSession.open(target.webSocketDebuggerUrl);
  });
  after(async () => {
    page?.close();
    await chromium?.stop(5_000);
    await plugin?.stop(5_000);
    await router?.stop();
    await nats?.stop();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  const text = (selector: string) =>
    page.eval<string>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ""`);
  const post = (path: string, body: unknown, requestId: string) =>
    fetch(`${url}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify(body),
    });

  test("the page shows the live plugin, its instance and a failed request's ids, then a trace's waterfall", async () => {
    const instance = [...router.registry.get("traced")!.versions.values()][0]!.instances.keys().next().value!;
    await waitFor(async () => (await text(`[data-plugin="traced"]`)).includes(instance), {
      timeoutMs: 15_000,
      message: "the instance on the page",
    });
    const card = await text(`[data-plugin="traced"]`);
    assert.match(card, /traced\s*serving/);
    assert.match(card, new RegExp(currentRuntime()));
    assert.equal((await post("traced/fail", {}, "browser-err-1")).status, 502);
    await waitFor(async () => (await text("#errors tbody")).includes("browser-err-1"), {
      timeoutMs: 15_000,
      message: "the error row",
    });
    assert.match(await text("#errors tbody"), /traced\.fail502plugin_errorbrowser-err-1/);
    assert.match(await text("#status"), /^live · 1 plugins/);

    assert.equal((await post("traced/relay", { text: "hi" }, "browser-trace-1")).status, 200);
    await waitFor(async () => {
      await page.eval(
        `(() => { const f = document.querySelector("#lookup"); f.id.value = "browser-trace-1"; f.requestSubmit(); })()`,
      );
      return await page.eval<number>(`document.querySelectorAll("#waterfall .row").length`) === 6;
    }, { timeoutMs: 15_000, message: "six rows in the waterfall" });
    const rows = await page.eval<string[]>(
      `[...document.querySelectorAll("#waterfall .row .label")].map((l) => l.textContent)`,
    );
    assert.match(rows[0]!, /^POST \/v1\/traced\/relay switchyard-router/);
    assert.match(rows[5]!, /^process traced\.echo plugin-traced/);
    // Each process stamps its spans with its own clock, so a child may seem to end a little after its parent.
    const bars = await page.eval<[string, string][]>(
      `[...document.querySelectorAll("#waterfall .bar")].map((b) => [b.style.left, b.style.width])`,
    );
    assert.equal(bars[0]![0], "0%", "the root starts the trace");
    for (const [left, width] of bars) {
      assert.ok(
        parseFloat(left) >= 0 && parseFloat(left) + parseFloat(width) <= 100.01,
        `${left} + ${width} within the trace`,
      );
    }
  });

  test("drain and resume are a click and a confirmation", async () => {
    await page.eval(`document.querySelector('[data-plugin="traced"] button').click()`);
    await waitFor(async () => /traced\s*draining/.test(await text(`[data-plugin="traced"]`)), {
      timeoutMs: 15_000,
      message: "drained on the page",
    });
    assert.equal((await post("traced/echo", { text: "x" }, "browser-drained")).status, 503);
    await page.eval(
      `[...document.querySelectorAll('[data-plugin="traced"] button')].find((b) => b.textContent === "resume").click()`,
    );
    await waitFor(async () => /traced\s*serving/.test(await text(`[data-plugin="traced"]`)), {
      timeoutMs: 15_000,
      message: "serving again",
    });
    assert.equal((await post("traced/echo", { text: "x" }, "browser-resumed")).status, 200);
  });
});
