/**
 * What a lean span keeps besides its own fields (events, links) and how they are written to OTLP
 * protobuf, in the field order of `otlp_proto.ts`.
 * @module
 */
import type { Link, SpanContext, TimeInput } from "@opentelemetry/api";
import type { ProtoWriter } from "./proto_writer.ts";
import { flags, writeIds, writeKeyValue, writeTimeParts } from "./otlp_proto.ts";
import { cleanAttributes } from "./span_attributes.ts";
import type { SpanLimits } from "./span_attributes.ts";

/** An event as kept: its name, its time as seconds and nanoseconds, its cleaned attributes. */
export interface EventRecord {
  readonly name: string;
  readonly s: number;
  readonly ns: number;
  readonly attributes: unknown[] | undefined;
  readonly dropped: number;
}

/** A link as kept: its context and its cleaned attributes. */
export interface LinkRecord {
  readonly context: SpanContext;
  readonly attributes: unknown[] | undefined;
  readonly dropped: number;
}

/** A link with its attributes cleaned (as the SDK's `cleanAttributes` with the per-link limit). */
export function linkRecord(link: Link, limits: SpanLimits): LinkRecord {
  const clean = typeof link.attributes === "object" && link.attributes !== null
    ? cleanAttributes(link.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit, false)
    : undefined;
  return { context: link.context, attributes: clean?.list, dropped: clean?.dropped ?? 0 };
}

/** The SDK's `isTimeInput`: a number, a `Date` or an `[seconds, nanos]` pair. */
export function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === "number" || value instanceof Date ||
    (Array.isArray(value) && value.length === 2 && typeof value[0] === "number" && typeof value[1] === "number");
}

/** A flat `[key, value, …]` list as repeated `KeyValue` in field `field`. */
export function writeList(w: ProtoWriter, list: readonly unknown[], field: number): void {
  for (let i = 0; i < list.length; i += 2) writeKeyValue(w, list[i] as string, list[i + 1], field);
}

/** An event as a `Span.events` entry. */
export function writeEvent(w: ProtoWriter, event: EventRecord): void {
  w.tag(11, 2);
  const mark = w.open(1);
  w.tag(1, 1);
  writeTimeParts(w, event.s, event.ns);
  w.tag(2, 2);
  w.string(event.name);
  if (event.attributes !== undefined) writeList(w, event.attributes, 3);
  w.tag(4, 0);
  w.varint32(event.dropped);
  w.close(mark);
}

/** A link as a `Span.links` entry. */
export function writeLink(w: ProtoWriter, link: LinkRecord): void {
  w.tag(13, 2);
  const mark = w.open(1);
  const ctx = link.context;
  writeIds(w, ctx);
  if (link.attributes !== undefined) writeList(w, link.attributes, 4);
  w.tag(5, 0);
  w.varint32(link.dropped);
  w.tag(6, 5);
  w.fixed32(flags(ctx, ctx.isRemote));
  w.close(mark);
}
