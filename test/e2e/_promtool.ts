import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * The `promtool` executable (Debian's `prometheus` package; scripts/bootstrap.sh installs it), or
 * `undefined` when it is not installed.
 */
export function findPromtool(): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]) {
    const candidate = join(dir || ".", "promtool");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `promtool check metrics` on an exposition; resolves with its exit code and what it said. */
export function promtoolCheckMetrics(
  promtool: string,
  exposition: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out: out.trim() }));
    child.stdin.end(exposition);
  });
}
