/**
 * The conformance checker: checks a running plugin instance, in any language, against the bus
 * protocol of docs/protocol.md, rule by rule (`switchyard conformance`).
 *
 * @example
 * ```ts
 * import { checkConformance, formatReport } from "./mod.ts";
 * const report = await checkConformance(nc, { plugin: "hello", call: { method: "greet", input: { name: "Ada" } } });
 * console.log(formatReport(report)); // one PASS/FAIL/SKIP line per rule, with its section
 * ```
 * @module
 */
export { checkConformance } from "./conformance.ts";
export { formatReport } from "./report.ts";
export { PROTOCOL_DOC, RULES } from "./rules.ts";
export type { ConformanceOptions } from "./conformance.ts";
export type { DrainCheckOptions } from "./check_events.ts";
export type { SampleCall } from "./check_requests.ts";
export type { ConformanceReport, RuleResult, RuleStatus } from "./report.ts";
export type { Rule, RuleId } from "./rules.ts";
