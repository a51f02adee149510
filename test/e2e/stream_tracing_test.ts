/**
 * A stream's span at the router: the router and the streamy plugin run as their own processes with
 * the OpenTelemetry SDK started by the CLI, exporting OTLP/HTTP protobuf to a real receiver here.
 * The request's SERVER span lasts until the stream's end, with an `items` event at most every 100
 * items and the item count and outcome as attributes.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { waitFor } from "../../src/testing/mod.ts";
import { SpanKind } from "../../src/testing/otlp_receiver.ts";
import type { OtlpReceiver, ReceivedSpan } from "../../src/testing/otlp_receiver.ts";
import { startTracedStack } from "./_traced_stack.ts";
import { fetchStream } from "./_stream_client.ts";

const STATUS_ERROR = 2;
const ITEMS = "switchyard.stream.items";

describe("a stream's span at the router", () => {
  let receiver: OtlpReceiver;
  let url: string;

  let stopStack: (() => Promise<void>) | undefined;

  before(async () => {
    ({ receiver, url } = await startTracedStack("streamy", (stop) => stopStack = stop));
  });
  after(() => stopStack?.());

  const traceparent = () => {
    const traceId = randomBytes(16).toString("hex");
    return { traceId, header: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
  };
  /** Waits for the router's SERVER span of the trace (exported when the stream ended), and returns it. */
  const routerSpan = async (traceId: string): Promise<ReceivedSpan> => {
    const find = () =>
      receiver.trace(traceId).find((s) => s.service === "switchyard-router" && s.kind === SpanKind.SERVER);
    await waitFor(() => find() !== undefined, {
      timeoutMs: 20_000,
      message: `the router span of trace ${traceId}`,
    });
    return find()!;
  };
  /** The running counts of the span's `items` events. */
  const itemEvents = (span: ReceivedSpan): number[] =>
    span.events.flatMap((name, i) => name === "items" ? [Number(span.eventAttributes[i]![ITEMS])] : []);
  /** At most one event per 100 items: each event is in a later hundred than the one before. */
  const assertEvery100 = (counts: number[], total: number) => {
    let hundreds = 0;
    for (const c of counts) {
      assert.ok(
        Math.floor(c / 100) > hundreds,
        `an event per 100 items at most (counts: ${counts.join(", ")})`,
      );
      assert.ok(c <= total);
      hundreds = Math.floor(c / 100);
    }
  };

  test("a stream that ends well: one span until its end, an items event every 100 items, the count at the end", async () => {
    const tp = traceparent();
    const s = await fetchStream(`${url}/v1/streamy/ticks`, { n: 250 }, { traceparent: tp.header });
    assert.equal((await s.rest()).length, 250);
    const span = await routerSpan(tp.traceId);
    assert.equal(span.name, "POST /v1/streamy/ticks");
    assert.equal(span.attributes["http.response.status_code"], 200);
    assert.equal(span.attributes[ITEMS], 250, "the count, set when the stream ended");
    assert.equal(span.attributes["switchyard.stream.outcome"], "ok");
    assert.equal(span.statusCode, 0);
    const counts = itemEvents(span);
    assertEvery100(counts, 250);
    // Messages hold up to 128 items, so one may pass two hundreds at once: at least one event.
    assert.ok(counts.length >= 1 && counts.length <= 2, `events at ${counts.join(", ")}`);
    const spans = receiver.trace(tp.traceId);
    assert.equal(
      spans.filter((x) => x.service === "switchyard-router" && x.kind === SpanKind.SERVER).length,
      1,
      "one span per stream",
    );
    const attempt = spans.find((x) => x.kind === SpanKind.CLIENT && x.service === "switchyard-router");
    assert.equal(attempt?.parentSpanId, span.spanId, "the NATS attempt under the stream's span");
  });

  test("an error after items: error status and code, the items written until then", async () => {
    const tp = traceparent();
    const s = await fetchStream(`${url}/v1/streamy/ticks`, { n: 300, failAfter: 130 }, {
      traceparent: tp.header,
    });
    const lines = await s.rest();
    assert.equal(lines.length, 131);
    assert.equal(JSON.parse(lines.at(-1)!).error.code, "boom");
    const span = await routerSpan(tp.traceId);
    assert.equal(span.attributes[ITEMS], 130);
    assert.equal(span.attributes["switchyard.stream.outcome"], "plugin_error");
    assert.equal(span.attributes["switchyard.error.code"], "boom");
    assert.equal(span.statusCode, STATUS_ERROR);
    assert.equal(
      span.attributes["http.response.status_code"],
      200,
      "the status went out with the first item",
    );
    const counts = itemEvents(span);
    assertEvery100(counts, 130);
    assert.equal(counts.length, 1);
  });

  test("a client that goes away: outcome cancelled, not an error", async () => {
    const tp = traceparent();
    const s = await fetchStream(`${url}/v1/streamy/hang`, { name: `gone-${tp.traceId}` }, {
      traceparent: tp.header,
    });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    s.abort();
    const span = await routerSpan(tp.traceId);
    assert.equal(span.attributes[ITEMS], 1);
    assert.equal(span.attributes["switchyard.stream.outcome"], "cancelled");
    assert.equal(span.statusCode, 0);
    assert.deepEqual(itemEvents(span), []);
  });
});
