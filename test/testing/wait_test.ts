import { test } from "node:test";
import assert from "node:assert/strict";
import { deferred, Latch, waitFor } from "../../src/testing/mod.ts";

test("waitFor() resolves once the predicate turns true", async () => {
  let calls = 0;
  await waitFor(() => ++calls >= 3, { intervalMs: 1 });
  assert.equal(calls, 3);
});

test("waitFor() accepts an async predicate", async () => {
  let calls = 0;
  await waitFor(async () => (await Promise.resolve(++calls)) === 2, { intervalMs: 1 });
  assert.equal(calls, 2);
});

test("waitFor() rejects at the deadline naming what it waited for and the last error", async () => {
  const started = Date.now();
  const err = await waitFor(() => {
    throw new Error("not ready yet");
  }, { timeoutMs: 40, intervalMs: 5, message: "the answer" }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /^Timed out after 40 ms waiting for the answer \(last error: not ready yet\)$/);
  assert.ok(err.cause instanceof Error);
  assert.ok(Date.now() - started >= 40);
});

test("waitFor() evaluates a message function only on timeout", async () => {
  let built = 0;
  const message = () => `message #${++built}`;
  await waitFor(() => true, { message });
  assert.equal(built, 0);
  await assert.rejects(waitFor(() => false, { timeoutMs: 10, message }), /waiting for message #1$/);
});

test("deferred() settles from outside and reports settled", async () => {
  const ok = deferred<number>();
  assert.equal(ok.settled, false);
  ok.resolve(42);
  assert.equal(ok.settled, true);
  assert.equal(await ok.promise, 42);
  const bad = deferred();
  bad.reject(new Error("nope"));
  await assert.rejects(bad.promise, /nope/);
  assert.equal(bad.settled, true);
});

test("Latch.wait() resolves after count countDown() calls", async () => {
  const latch = new Latch(3);
  queueMicrotask(() => latch.countDown());
  queueMicrotask(() => latch.countDown(2));
  await latch.wait(1000);
  assert.equal(latch.count, 0);
  latch.countDown(); // past zero: ignored
  assert.equal(latch.count, 0);
});

test("Latch.wait() rejects at the deadline with the missing count", async () => {
  const latch = new Latch(2);
  latch.countDown();
  await assert.rejects(latch.wait(20), /^Error: Latch timed out after 20 ms: 1 of 2 counts missing$/);
});

test("Latch(0) is already open and Latch(-1) throws RangeError", async () => {
  await new Latch(0).wait(1);
  assert.throws(() => new Latch(-1), RangeError);
  assert.throws(() => new Latch(1.5), RangeError);
});
