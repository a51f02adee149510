/**
 * A headless Chromium driven over the DevTools protocol (its own WebSocket, no test library): pages
 * in browser contexts of their own (separate cookies and HTTP auth caches), DOM reads, screenshots,
 * and HTTP auth challenges answered with given credentials. Tests skip, saying so, where
 * {@linkcode CHROMIUM} is undefined (`scripts/bootstrap.sh` installs Debian's `chromium`).
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { spawnProcess } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";

/** The Chromium binary, if one is installed. */
export const CHROMIUM: string | undefined = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
]
  .find((p) => existsSync(p));

/** The `skip` option of a browser test: a message where Chromium is missing. */
export const skipWithoutChromium: string | false = CHROMIUM === undefined
  ? "Chromium is not installed (bash scripts/bootstrap.sh, or apt-get install chromium): the page's browser test is skipped"
  : false;

type Listener = (params: Record<string, unknown>) => void;

/** One DevTools protocol connection: commands with ids, events by method. */
class Connection {
  readonly #ws: WebSocket;
  #id = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<string, Listener>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method !== undefined) {
        this.#listeners.get(msg.method)?.(msg.params ?? {});
      }
    });
    ws.addEventListener("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("the DevTools connection closed"));
      this.#pending.clear();
    });
  }

  static async open(url: string): Promise<Connection> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot reach ${url}`)), { once: true });
    });
    return new Connection(ws);
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method: string, listener: Listener): void {
    this.#listeners.set(method, listener);
  }

  close(): void {
    this.#ws.close();
  }
}

/** Options of {@linkcode Chromium.newPage}. */
export interface PageOptions {
  /**
   * Answers HTTP auth challenges (Basic) with these credentials, or cancels them (`"cancel"`: the
   * 401 shows). Without, requests are not intercepted at all.
   */
  auth?: { username: string; password: string } | "cancel";
  /** @default 1280 */
  width?: number;
  /** @default 900 */
  height?: number;
}

/** A headless Chromium process and its browser-level DevTools connection. */
export class Chromium {
  readonly #process: ProcessHandle;
  readonly #browser: Connection;
  readonly #port: string;
  readonly #profile: string;

  private constructor(process: ProcessHandle, browser: Connection, port: string, profile: string) {
    this.#process = process;
    this.#browser = browser;
    this.#port = port;
    this.#profile = profile;
  }

  /** Starts Chromium with a throwaway profile and waits for its DevTools endpoint. */
  static async launch(): Promise<Chromium> {
    if (CHROMIUM === undefined) throw new Error("Chromium is not installed");
    const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
    const process = spawnProcess([
      CHROMIUM,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ], { name: "chromium" });
    try {
      const line = await process.waitForLine("DevTools listening on", 30_000);
      const endpoint = /ws:\/\/\S+/.exec(line)![0];
      return new Chromium(process, await Connection.open(endpoint), new URL(endpoint).port, profile);
    } catch (err) {
      await process.stop(5_000);
      rmSync(profile, { recursive: true, force: true });
      throw err;
    }
  }

  /** A blank page in a browser context of its own, sized for screenshots. */
  async newPage(options: PageOptions = {}): Promise<PageSession> {
    const { browserContextId } = await this.#browser.send<{ browserContextId: string }>(
      "Target.createBrowserContext",
    );
    const { targetId } = await this.#browser.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
      browserContextId,
    });
    // Closing the page disposes of its context: the tab and its open streams go with it.
    const dispose = () =>
      this.#browser.send("Target.disposeBrowserContext", { browserContextId }).then(() => {}, () => {});
    return await PageSession.attach(
      await Connection.open(`ws://127.0.0.1:${this.#port}/devtools/page/${targetId}`),
      options,
      dispose,
    );
  }

  async close(): Promise<void> {
    this.#browser.close();
    await this.#process.stop(5_000);
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

/** One page: navigation, DOM reads, screenshots; `confirm()` and `alert()` are answered yes. */
export class PageSession {
  readonly #cdp: Connection;
  readonly #dispose: () => Promise<void>;
  /** The HTTP auth challenges the page met (with {@linkcode PageOptions.auth} set). */
  readonly challenges: { scheme: string; realm: string; origin: string }[] = [];

  private constructor(cdp: Connection, dispose: () => Promise<void>) {
    this.#cdp = cdp;
    this.#dispose = dispose;
  }

  /** A session on the page behind `cdp`; `dispose` closes the page. */
  static async attach(
    cdp: Connection,
    options: PageOptions,
    dispose: () => Promise<void>,
  ): Promise<PageSession> {
    const page = new PageSession(cdp, dispose);
    cdp.on(
      "Page.javascriptDialogOpening",
      () => void cdp.send("Page.handleJavaScriptDialog", { accept: true }),
    );
    await cdp.send("Page.enable");
    await cdp.send("Emulation.setDeviceMetricsOverride", {
      width: options.width ?? 1280,
      height: options.height ?? 900,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const auth = options.auth;
    if (auth === undefined) return page;
    // Auth challenges come through the Fetch domain; every request pauses there and goes on untouched.
    cdp.on("Fetch.requestPaused", (p) => void cdp.send("Fetch.continueRequest", { requestId: p.requestId }));
    cdp.on("Fetch.authRequired", (p) => {
      page.challenges.push(p.authChallenge as PageSession["challenges"][number]);
      void cdp.send("Fetch.continueWithAuth", {
        requestId: p.requestId,
        authChallengeResponse: auth === "cancel"
          ? { response: "CancelAuth" }
          : { response: "ProvideCredentials", ...auth },
      });
    });
    await cdp.send("Fetch.enable", { handleAuthRequests: true });
    return page;
  }

  /** Starts loading `url`; wait for what should show with a DOM poll. */
  async navigate(url: string): Promise<void> {
    await this.#cdp.send("Page.navigate", { url });
  }

  /** Evaluates `expression` in the page and returns its value. */
  async eval<T>(expression: string): Promise<T> {
    const result = await this.#cdp.send<{ result: { value: T }; exceptionDetails?: unknown }>(
      "Runtime.evaluate",
      { expression, returnByValue: true },
    );
    if (result.exceptionDetails !== undefined) {
      throw new Error(`${expression}: ${JSON.stringify(result.exceptionDetails)}`);
    }
    return result.result.value;
  }

  /** The text of the first element matching `selector`, `""` when none does. */
  text(selector: string): Promise<string> {
    return this.eval<string>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ""`);
  }

  /**
   * Saves a PNG of the whole page (beyond the viewport) to `path`, rendered at `scale` (crisp, not
   * resampled); returns its size in bytes.
   */
  async screenshot(path: string, scale = 1): Promise<number> {
    const { cssContentSize: size } = await this.#cdp.send<
      { cssContentSize: { width: number; height: number } }
    >(
      "Page.getLayoutMetrics",
    );
    const { data } = await this.#cdp.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: size.width, height: size.height, scale },
    });
    const bytes = Buffer.from(data, "base64");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    return bytes.length;
  }

  /** Closes the page (and its browser context). */
  async close(): Promise<void> {
    this.#cdp.close();
    await this.#dispose();
  }
}
