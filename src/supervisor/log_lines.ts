/**
 * One line an instance printed, as the supervisor writes it: `[<instance>] <line>` for people
 * (pretty), or a JSON line carrying `instance` for log pipelines (a JSON line from the instance
 * keeps its fields; any other line becomes `{"time","level":"info","msg",…}`).
 */
export function formatInstanceLine(format: "json" | "pretty", instanceId: string, line: string): string {
  if (format === "pretty") return `[${instanceId}] ${line}`;
  if (line.startsWith("{")) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        return JSON.stringify({ ...parsed as Record<string, unknown>, instance: instanceId });
      }
    } catch {
      // not JSON after all
    }
  }
  return JSON.stringify({ time: new Date().toISOString(), level: "info", msg: line, instance: instanceId });
}
