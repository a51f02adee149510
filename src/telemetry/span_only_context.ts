/**
 * A context that holds one span and nothing else, for the request path: the API's own `Context`
 * (`BaseContext`) copies a `Map` and makes three closures for every `trace.setSpan()`, three times
 * per traced request. Any code reads it through the `Context` interface as it would the API's.
 * @module
 */
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Context, Span } from "@opentelemetry/api";

/** The API's key of the span in a context (`createContextKey` is `Symbol.for`). */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/** `trace.setSpan(ROOT_CONTEXT, span)`, as one small object. */
export class SpanOnlyContext implements Context {
  readonly #span: Span;

  constructor(span: Span) {
    this.#span = span;
  }

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.#span : undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    if (key === SPAN_KEY) return new SpanOnlyContext(value as Span);
    return ROOT_CONTEXT.setValue(SPAN_KEY, this.#span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : this;
  }
}

/** `trace.setSpan(parent, span)`: a {@linkcode SpanOnlyContext} when `parent` holds nothing else. */
export function withSpan(parent: Context, span: Span): Context {
  return parent === ROOT_CONTEXT || parent instanceof SpanOnlyContext ? new SpanOnlyContext(span) : trace.setSpan(parent, span);
}
