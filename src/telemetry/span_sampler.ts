/**
 * The samplers `OTEL_TRACES_SAMPLER` names, decided from the trace id and the parent's flags alone
 * (the built-in samplers look at nothing else), with the SDK's arithmetic.
 * @module
 */
import { diag, TraceFlags } from "@opentelemetry/api";
import type { SpanContext } from "@opentelemetry/api";

type Env = Readonly<Record<string, string | undefined>>;

/** What a root span (or every span, without `parentBased`) gets. */
type Root = "on" | "off" | "ratio";

/** A sampling decision per span: sampled spans record and export, the others only propagate. */
export class SpanSampler {
  readonly #root: Root;
  readonly #parentBased: boolean;
  /** Trace ids whose accumulated bits are below this are sampled (`traceidratio`). */
  readonly #bound: number;
  /** The sampler as `OTEL_TRACES_SAMPLER` spells it (with the ratio). */
  readonly description: string;

  constructor(root: Root, parentBased: boolean, ratio = 1) {
    this.#root = root;
    this.#parentBased = parentBased;
    const r = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio));
    this.#bound = r === 1 ? 4294967296 : Math.floor(r * 4294967295);
    this.description = `${parentBased ? "parentbased_" : ""}${root === "ratio" ? `traceidratio (${r})` : `always_${root}`}`;
  }

  /** Whether a span in `traceId` is sampled; `parent` is the valid parent span's context, if any. */
  sample(parent: SpanContext | undefined, traceId: string): boolean {
    if (this.#parentBased && parent !== undefined) return (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
    const root = this.#root;
    return root === "on" || (root === "ratio" && accumulate(traceId) < this.#bound);
  }
}

/** The SDK's `TraceIdRatioBasedSampler`: the trace id's four 32-bit words XORed. */
function accumulate(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c < 71 ? c - 55 : c - 87);
    }
    acc = (acc ^ part) >>> 0;
  }
  return acc;
}

/** The sampler `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` ask for (`parentbased_always_on` by default), as the SDK reads them. */
export function samplerFromEnv(env: Env): SpanSampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || "parentbased_always_on";
  switch (name) {
    case "always_on":
      return new SpanSampler("on", false);
    case "always_off":
      return new SpanSampler("off", false);
    case "parentbased_always_on":
      return new SpanSampler("on", true);
    case "parentbased_always_off":
      return new SpanSampler("off", true);
    case "traceidratio":
      return new SpanSampler("ratio", false, ratioFromEnv(env));
    case "parentbased_traceidratio":
      return new SpanSampler("ratio", true, ratioFromEnv(env));
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}", using default`);
      return new SpanSampler("on", true);
  }
}

function ratioFromEnv(env: Env): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (raw === undefined || raw === "") {
    diag.error("OTEL_TRACES_SAMPLER_ARG is blank, defaulting to 1.");
    return 1;
  }
  const ratio = Number(raw);
  if (Number.isNaN(ratio) || ratio < 0 || ratio > 1) {
    diag.error(`OTEL_TRACES_SAMPLER_ARG=${raw} was given, but it is out of range ([0..1]), defaulting to 1.`);
    return 1;
  }
  return ratio;
}
