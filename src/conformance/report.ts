import { PROTOCOL_VERSION } from "../bus/mod.ts";
import { PROTOCOL_DOC, RULES } from "./rules.ts";
import type { RuleId } from "./rules.ts";

/** How one rule came out; `skip` when the checker could not check it (the detail says why). */
export type RuleStatus = "pass" | "fail" | "skip";

/** One rule's outcome. */
export interface RuleResult {
  readonly id: RuleId;
  readonly status: RuleStatus;
  readonly required: boolean;
  /** Where the rule is stated: `docs/protocol.md#<anchor>`. */
  readonly section: string;
  readonly title: string;
  /** What was seen: each problem for a failure, a note for a pass or a skip. */
  readonly detail?: string;
}

/** What `switchyard conformance` found. */
export interface ConformanceReport {
  /** The protocol version checked against. */
  readonly protocol: string;
  readonly plugin: string;
  readonly prefix: string;
  /** The instance checked, when one was found. */
  readonly instance?: string;
  readonly version?: string;
  /** True when no required rule failed. */
  readonly ok: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly results: readonly RuleResult[];
}

/** Collects outcomes while the checks run; a rule checked more than once fails if any check failed. */
export class ReportBuilder {
  readonly #outcomes = new Map<RuleId, { status: RuleStatus; notes: string[] }>();

  pass(id: RuleId, note?: string): void {
    this.#record(id, "pass", note);
  }

  fail(id: RuleId, problem: string): void {
    this.#record(id, "fail", problem);
  }

  skip(id: RuleId, reason: string): void {
    this.#record(id, "skip", reason);
  }

  /** Fails `id` with each problem, or passes it when there are none. */
  check(id: RuleId, problems: readonly string[], note?: string): void {
    if (problems.length === 0) this.pass(id, note);
    for (const problem of problems) this.fail(id, problem);
  }

  /** Skips every rule not recorded yet. */
  skipRest(reason: string): void {
    for (const id of Object.keys(RULES) as RuleId[]) if (!this.#outcomes.has(id)) this.skip(id, reason);
  }

  has(id: RuleId): boolean {
    return this.#outcomes.has(id);
  }

  build(target: { plugin: string; prefix: string; instance?: string | undefined; version?: string | undefined }): ConformanceReport {
    const results: RuleResult[] = [];
    for (const [id, rule] of Object.entries(RULES) as [RuleId, (typeof RULES)[RuleId]][]) {
      const outcome = this.#outcomes.get(id) ?? { status: "skip" as const, notes: ["not checked"] };
      const detail = [...new Set(outcome.notes)].join("; ");
      results.push({
        id,
        status: outcome.status,
        required: rule.required,
        section: `${PROTOCOL_DOC}#${rule.section}`,
        title: rule.title,
        ...(detail === "" ? {} : { detail }),
      });
    }
    const count = (status: RuleStatus) => results.filter((r) => r.status === status).length;
    return {
      protocol: PROTOCOL_VERSION,
      plugin: target.plugin,
      prefix: target.prefix,
      ...(target.instance === undefined ? {} : { instance: target.instance }),
      ...(target.version === undefined ? {} : { version: target.version }),
      ok: !results.some((r) => r.status === "fail" && r.required),
      passed: count("pass"),
      failed: count("fail"),
      skipped: count("skip"),
      results,
    };
  }

  #record(id: RuleId, status: RuleStatus, note: string | undefined): void {
    const outcome = this.#outcomes.get(id);
    if (outcome === undefined) {
      this.#outcomes.set(id, { status, notes: note === undefined ? [] : [note] });
      return;
    }
    // fail beats pass beats skip; only the notes of the winning status are kept.
    const rank = { skip: 0, pass: 1, fail: 2 } as const;
    if (rank[status] > rank[outcome.status]) {
      outcome.status = status;
      outcome.notes = [];
    }
    if (status === outcome.status && note !== undefined) outcome.notes.push(note);
  }
}

/** The report as text: one line per rule, the problem and the section under each failure. */
export function formatReport(report: ConformanceReport): string {
  const target = report.instance === undefined
    ? `plugin "${report.plugin}"`
    : `${report.plugin} ${report.version ?? "?"}, instance ${report.instance}`;
  const lines = [`Switchyard protocol ${report.protocol} conformance: ${target} (prefix "${report.prefix}")`, ""];
  const width = Math.max(...report.results.map((r) => r.id.length));
  for (const r of report.results) {
    const mark = r.status === "pass" ? "PASS" : r.status === "skip" ? "SKIP" : r.required ? "FAIL" : "WARN";
    lines.push(`  ${mark}  ${r.id.padEnd(width)}  ${r.title}`);
    if (r.detail !== undefined && r.status !== "pass") lines.push(`        ${" ".repeat(width)}  ${r.detail}`);
    if (r.status === "fail") lines.push(`        ${" ".repeat(width)}  see ${r.section}`);
  }
  const failedRequired = report.results.filter((r) => r.status === "fail" && r.required).length;
  lines.push("");
  lines.push(
    `${report.ok ? "CONFORMS" : "DOES NOT CONFORM"}: ${report.passed} passed, ${report.failed} failed` +
      `${failedRequired === report.failed ? "" : ` (${failedRequired} required)`}, ${report.skipped} skipped`,
  );
  return lines.join("\n");
}
