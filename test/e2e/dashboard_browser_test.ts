/**
 * The dashboard of a real `switchyard dev` (the CLI, on the runtime under test, with the example
 * plugins in ./plugins and the `traced` fixture from its config) in a real headless Chromium driven
 * over the DevTools protocol: the plugins and their instances, the request rate under traffic, a
 * killed instance marked lost, an open breaker, a nested `ctx.call`'s trace, drain and resume. Then
 * a router with Basic auth: the page needs the admin role. Screenshots go to `.cache/dashboard/`.
 * Skipped, saying so, where Chromium is not installed (`scripts/bootstrap.sh` installs it).
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import { captureLogger, freePort, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { Chromium, skipWithoutChromium } from "./_chromium.ts";
import type { PageSession } from "./_chromium.ts";
import { CLI, fixturePath } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = join(ROOT, ".cache", "dashboard");
const runtime = currentRuntime();
const shot = (page: PageSession, name: string, scale?: number) =>
  page.screenshot(join(SHOTS, `${runtime}-${name}.png`), scale);

describe(
  `switchyard dev's dashboard in headless Chromium (${runtime})`,
  { skip: skipWithoutChromium },
  () => {
    let nats: NatsServer;
    let dev: ProcessHandle;
    let chromium: Chromium;
    let page: PageSession;
    let dir: string;
    let url: string;

    before(async () => {
      nats = await startNatsServer();
      dir = mkdtempSync(join(tmpdir(), "switchyard-dashboard-browser-"));
      // The fixture's `relay` makes a nested ctx.call; its `fail` throws, and one failure opens its breaker.
      writeFileSync(
        join(dir, "config.json"),
        JSON.stringify({
          plugins: {
            traced: {
              module: fixturePath("traced"),
              methods: { fail: { breaker: { consecutiveFailures: 1, resetMs: 60_000 } } },
            },
          },
        }),
      );
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const args = [
        "dev",
        "--port",
        String(port),
        "--plugins",
        join(ROOT, "plugins"),
        "--config",
        join(dir, "config.json"),
      ];
      dev = spawnProcess(runtimeCommand(runtime, CLI, [...args, "--no-watch"]), {
        name: "dev",
        env: {
          NATS_URL: nats.url,
          OTEL_BSP_SCHEDULE_DELAY: "50",
          OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
          OTEL_SERVICE_NAME: undefined,
          OTEL_TRACES_SAMPLER: undefined,
        },
      });
      // Chromium starts while dev does.
      [chromium] = await Promise.all([Chromium.launch(), dev.waitForLine("Dashboard: ", 45_000)]);
      page = await chromium.newPage();
      await page.navigate(`${url}/dashboard`);
    });
    after(async () => {
      await page?.close();
      await chromium?.close();
      await dev?.stop(15_000);
      await nats?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    const card = (plugin: string) => page.text(`[data-plugin="${plugin}"]`);
    /** The instance rows of a plugin's card: [id, runtime, state]. */
    const instances = (plugin: string) =>
      page.eval<[string, string, string][]>(
        `[...document.querySelectorAll('[data-plugin="${plugin}"] tbody tr')].map((tr) => [1, 2, 5].map((i) => tr.cells[i].textContent))`,
      );
    const post = (path: string, body: unknown, requestId?: string) =>
      fetch(`${url}/v1/${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(requestId === undefined ? {} : { "x-request-id": requestId }),
        },
        body: JSON.stringify(body),
      });

    test("the example plugins and the fixture show with their serving instances", async () => {
      const names = ["counter", "hello", "text", "traced"];
      await waitFor(async () => {
        for (const name of names) {
          const rows = await instances(name);
          if (!rows.some(([, rt, state]) => rt === runtime && state === "serving")) return false;
        }
        return true;
      }, { timeoutMs: 15_000, message: "a serving instance of each plugin on the page" });
      assert.match(await page.text("#status"), /^live · 4 plugins/);
      for (const name of names) assert.match(await card(name), new RegExp(`^${name}serving`));
      await shot(page, "plugins");
    });

    test("traffic moves the request rate", async () => {
      const rate = async () => parseFloat(await page.text(`[data-plugin="hello"] .rps`));
      assert.equal(await rate(), 0, "no traffic yet");
      let sent = 0;
      // Requests go on until the page shows a rate: a snapshot a second, over a 10 s window.
      await waitFor(async () => {
        const replies = await Promise.all(
          Array.from({ length: 8 }, () => post("hello/greet", { name: "page" })),
        );
        for (const r of replies) assert.equal(r.status, 200);
        sent += replies.length;
        return await rate() > 0;
      }, { timeoutMs: 15_000, message: "a request rate on the hello card" });
      const requests = parseInt(await page.text(`[data-plugin="hello"] .requests`));
      assert.ok(requests > 0 && requests <= sent, `${requests} requests counted of ${sent} sent`);
      await shot(page, "traffic");
    });

    test("kill -9 of an instance: it is marked lost within 2 s, and its restart joins", async () => {
      // The pid from `switchyard ps`, as an operator finds it.
      await using ps = spawnProcess(runtimeCommand(runtime, CLI, ["ps", "--nats", nats.url, "--json"]), {
        name: "ps",
      });
      assert.equal((await ps.exited).code, 0, ps.lines.join("\n"));
      const supervisors = JSON.parse(ps.lines.join("\n")) as {
        instances: { plugin: string; id?: string; pid?: number; state: string }[];
      }[];
      const victim = supervisors.flatMap((s) => s.instances).find((i) =>
        i.plugin === "hello" && i.pid !== undefined
      );
      assert.ok(victim?.id !== undefined && victim.pid !== undefined, ps.lines.join("\n"));
      assert.ok((await instances("hello")).some(([id, , state]) => id === victim.id && state === "serving"));

      const killedAt = Date.now();
      process.kill(victim.pid, "SIGKILL");
      await waitFor(async () => {
        const row = (await instances("hello")).find(([id]) => id === victim.id);
        return row === undefined || row[2] === "lost";
      }, { timeoutMs: 10_000, intervalMs: 50, message: "the killed instance marked lost" });
      const ms = Date.now() - killedAt;
      // deno-lint-ignore no-console
      console.log(`killed instance ${victim.id} shown lost after ${ms} ms`);
      assert.ok(ms <= 2_000, `shown lost after ${ms} ms`);
      await shot(page, "lost");
      await waitFor(
        async () =>
          (await instances("hello")).some(([id, , state]) => id !== victim.id && state === "serving"),
        {
          timeoutMs: 30_000,
          message: "the restarted instance serving",
        },
      );
    });

    test("a failing method opens its breaker: the error row, then the open breaker, on the page", async () => {
      assert.equal((await post("traced/fail", {}, "browser-err-1")).status, 502);
      await waitFor(async () => (await page.text("#errors tbody")).includes("browser-err-1"), {
        timeoutMs: 15_000,
        message: "the error row",
      });
      assert.match(await page.text("#errors tbody"), /traced\.fail502plugin_errorbrowser-err-1/);
      let breakers = "";
      await waitFor(
        async () =>
          /^breaker closed, fail open$/.test(breakers = await page.text(`[data-plugin="traced"] .breakers`)),
        {
          timeoutMs: 15_000,
          message: () => `the open breaker (the page says "${breakers}")`,
        },
      );
      const refused = await post("traced/fail", {}, "browser-err-2");
      assert.equal(refused.status, 503);
      assert.equal((await refused.json() as { error: { code: string } }).error.code, "circuit_open");
      await waitFor(
        async () => /, 1 circuit open$/.test(await page.text(`[data-plugin="traced"] .rejections`)),
        {
          timeoutMs: 15_000,
          message: "the circuit-open rejection counted",
        },
      );
      await shot(page, "breaker");
    });

    test("a nested ctx.call's trace opens as a waterfall five levels deep", async () => {
      assert.equal((await post("traced/relay", { text: "hi" }, "browser-trace-1")).status, 200);
      const depths = () =>
        page.eval<number[]>(`[...document.querySelectorAll("#waterfall .row")].map((r) => +r.dataset.depth)`);
      await waitFor(async () => {
        await page.eval(
          `(() => { const f = document.querySelector("#lookup"); f.id.value = "browser-trace-1"; f.requestSubmit(); })()`,
        );
        return (await depths()).length >= 6;
      }, { timeoutMs: 15_000, message: "the trace's six spans in the waterfall" });
      const labels = await page.eval<string[]>(
        `[...document.querySelectorAll("#waterfall .row .label")].map((l) => l.textContent)`,
      );
      assert.deepEqual(await depths(), [0, 1, 2, 3, 4, 5], labels.join("\n"));
      const expected = [
        /^POST \/v1\/traced\/relay switchyard-router/, // router server span
        /^send sy\.traced\.\S+\.relay switchyard-router/, // router client span
        /^process traced\.relay plugin-traced/, // plugin server span
        /^relay\.prepare plugin-traced/, // the plugin's own span
        /^send sy\.traced\.\S+\.echo plugin-traced/, // nested client span (ctx.call)
        /^process traced\.echo plugin-traced/, // callee server span
      ];
      expected.forEach((pattern, i) => assert.match(labels[i]!, pattern));
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
      await shot(page, "trace");
      // The README's picture (docs/dashboard.png): the same page, smaller.
      await shot(page, "overview", 0.6);
    });

    test("drain and resume are a click and a confirmation", async () => {
      await page.eval(`document.querySelector('[data-plugin="traced"] button').click()`);
      await waitFor(async () => /^traced\s*draining/.test(await card("traced")), {
        timeoutMs: 15_000,
        message: "drained on the page",
      });
      assert.equal((await post("traced/echo", { text: "x" })).status, 503);
      await page.eval(
        `[...document.querySelectorAll('[data-plugin="traced"] button')].find((b) => b.textContent === "resume").click()`,
      );
      await waitFor(async () => /^traced\s*serving/.test(await card("traced")), {
        timeoutMs: 15_000,
        message: "serving again",
      });
      assert.equal((await post("traced/echo", { text: "x" })).status, 200);
    });

    test("with Basic auth on, the page needs the admin role: 401 without credentials, 403 for a caller, live for an admin", async () => {
      // A second router on the same bus, with auth: it finds dev's plugins by itself.
      const router = await startRouter(
        resolveConfig({
          nats: { servers: [nats.url] },
          router: { host: "127.0.0.1", port: 0 },
          admin: { enabled: true },
          auth: {
            basic: {
              users: [
                { username: "ops", hash: await hashPassword("ops-secret", 10), roles: ["admin"] },
                { username: "ann", hash: await hashPassword("ann-secret", 10), roles: ["caller"] },
              ],
            },
            rules: [{ roles: ["caller"], plugins: ["hello"] }, { roles: ["admin"], plugins: ["*"] }],
          },
        }, {}),
        captureLogger(),
        { env: {} },
      );
      const pages: PageSession[] = [];
      try {
        const dashboard = `http://127.0.0.1:${router.port}/dashboard`;
        // Without credentials, the browser is challenged for them (and, here, declines): nothing shows.
        const anonymous = await chromium.newPage({ auth: "cancel" });
        pages.push(anonymous);
        await anonymous.navigate(dashboard);
        await waitFor(() => anonymous.challenges.length > 0, {
          timeoutMs: 15_000,
          message: "a Basic challenge",
        });
        assert.deepEqual(
          { scheme: anonymous.challenges[0]!.scheme.toLowerCase(), realm: anonymous.challenges[0]!.realm },
          { scheme: "basic", realm: "switchyard" },
        );
        assert.equal(await anonymous.eval<boolean>(`document.querySelector("#status") === null`), true);
        // A caller's credentials are not enough.
        const caller = await chromium.newPage({ auth: { username: "ann", password: "ann-secret" } });
        pages.push(caller);
        await caller.navigate(dashboard);
        let text = "";
        await waitFor(async () => /"code":"forbidden"/.test(text = await caller.text("body")), {
          timeoutMs: 15_000,
          message: () => `403 forbidden on the page (it shows "${text.slice(0, 200)}")`,
        });
        assert.equal(
          await caller.eval<boolean>(`document.querySelector("#status") === null`),
          true,
          "no dashboard",
        );
        const admin = await chromium.newPage({ auth: { username: "ops", password: "ops-secret" } });
        pages.push(admin);
        await admin.navigate(dashboard);
        // "live" comes with the first snapshot over the event stream, which needs the credentials too.
        let status = "";
        await waitFor(async () => /^live · 4 plugins/.test(status = await admin.text("#status")), {
          timeoutMs: 20_000,
          message: () => `the live page (its status says "${status}")`,
        });
        assert.match(await admin.text(`[data-plugin="hello"]`), /^helloserving/);
        await shot(admin, "auth-admin");
      } finally {
        for (const p of pages) await p.close();
        await router.stop();
      }
    });
  },
);
