import type { PipelineSettings } from "../pipeline/mod.ts";
import type { ResolvedConfig } from "./schema.ts";

/** The request pipeline's slice of a config: a new object, shared with nothing that changes. */
export function pipelineSettings(config: ResolvedConfig): PipelineSettings {
  return {
    timeoutMs: config.router.timeoutMs,
    streamIdleMs: config.router.streamIdleMs,
    streamTimeoutMs: config.router.streamTimeoutMs,
    resilience: config.resilience,
    balancing: config.balancing,
    plugins: config.plugins,
    region: config.region,
  };
}
