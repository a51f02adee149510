import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRequestTargets, MAX_PATH_SEGMENTS, pathProblem, segmentProblem } from "../../src/runtime/request_target.ts";
import { closesAfterAnswer, declaresBody } from "../../src/runtime/early_close.ts";
import { headProblem } from "../../src/runtime/request_head.ts";

const PLAIN = [
  "/",
  "/health",
  "/v1/hello/greet",
  "/v1/hello/greet/",
  "/v1/hello/greet?x=/../&y=%2F",
  "/v1/a.b/c..d",
  "/v1/.well-known/x",
  "/v1/...",
  "/v1/caf%C3%A9/x",
  "/v1/%252e%252e/x", // a literal "%2e%2e" once decoded: no segment of dots
  "http://h/v1/hello/greet",
  "http://h:8080/v1/x?q=..",
  "http://h",
  `/${"a/".repeat(MAX_PATH_SEGMENTS - 1)}a`,
  `/${"a/".repeat(MAX_PATH_SEGMENTS)}`,
];

const REFUSED = [
  "/v1/echo/../admin/delete",
  "/v1/echo/%2E%2E/admin/delete",
  "/v1/echo/%2e%2E/admin/delete",
  "/v1/echo/.%2e/admin/delete",
  "/v1/echo/%2E./admin/delete",
  "/v1/./admin/delete",
  "/v1/%2e/admin/delete",
  "/v1/admin/delete/..",
  "/v1/admin/delete/.",
  "/..",
  "/.",
  "/v1/a%2Fb/c",
  "/v1/a%2fb/c",
  "/v1/a%5Cb/c",
  "/v1/a%5cb/c",
  "/v1/a\\b/c",
  "/v1\\admin\\delete",
  "//v1/admin/delete",
  "/v1//admin/delete",
  "/v1/x#/../admin",
  "/v1/a%zzb/c",
  "/v1/a%2",
  "/v1/a\tb",
  "http://h/v1/echo/../admin/delete",
  "http://h/v1/echo/%2e%2e/admin/delete",
  "*",
  "v1/x",
  `/${"a/".repeat(MAX_PATH_SEGMENTS)}a`,
];

test("pathProblem() lets plain paths through, the query and non-dot dots included", () => {
  for (const target of PLAIN) assert.equal(pathProblem(target), undefined, target);
});

test("pathProblem() refuses dot segments, encoded slashes, backslashes, empty segments and the like", () => {
  for (const target of REFUSED) assert.equal(typeof pathProblem(target), "string", target);
  assert.match(pathProblem("/v1/x/%2E%2E/y")!, /Dot segments/);
  assert.match(pathProblem("/v1/x%2Fy/z")!, /Encoded slashes/);
  assert.match(pathProblem("/v1/x\\y/z")!, /Backslashes/);
});

test("segmentProblem() refuses decoded dot segments, slashes and backslashes", () => {
  for (const bad of [".", "..", "a/b", "a\\b", "\\"]) assert.equal(typeof segmentProblem(bad), "string", bad);
  for (const ok of ["a", "a.b", "...", "..a", "%2e%2e", "caf\u00e9"]) assert.equal(segmentProblem(ok), undefined, ok);
});

test("closesAfterAnswer() closes errors answered with the body unread, and nothing else", async () => {
  const post = (headers: Record<string, string>) => new Request("http://x/v1/a/b", { method: "POST", body: "{}", headers });
  const error = () => new Response("{}", { status: 401 });
  const unread = post({ "content-length": "2" });
  assert.equal(declaresBody(unread), true);
  const refused = error();
  assert.equal(closesAfterAnswer(unread, refused), true);
  assert.equal(refused.headers.get("connection"), "close");

  assert.equal(closesAfterAnswer(post({ "content-length": "2" }), new Response("{}", { status: 200 })), false, "a success keeps the connection");
  const read = post({ "content-length": "2" });
  await read.arrayBuffer();
  const afterRead = error();
  assert.equal(closesAfterAnswer(read, afterRead), false, "an error after the body was read keeps the connection");
  assert.equal(afterRead.headers.get("connection"), null);
  const noBody = new Request("http://x/health");
  assert.equal(declaresBody(noBody), false);
  assert.equal(closesAfterAnswer(noBody, error()), false, "no body, nothing left to read");
  const closing = new Response("{}", { status: 408, headers: { connection: "close" } });
  assert.equal(closesAfterAnswer(read, closing), true, "an answer that closes anyway");
});

test("headProblem() refuses a malformed first head and lets a plain one through", () => {
  const ok = "POST /v1/a/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
  assert.equal(headProblem(ok), undefined);
  assert.equal(headProblem("GET / HTTP/1.0\r\n\r\n"), undefined, "HTTP/1.0 needs no Host");
  assert.equal(headProblem("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), undefined);
  const refused: [string, string][] = [
    ["GARBAGE\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.2\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", "invalid_request"],
    ["GET /v1/../admin HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_path"],
    ["OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_path"],
  ];
  for (const [head, code] of refused) assert.equal(headProblem(head)?.code, code, JSON.stringify(head));
});

test("checkRequestTargets() answers a raw dot-segment target with 400 invalid_path and passes plain ones on", async () => {
  let served = 0;
  const fetch = checkRequestTargets(() => {
    served++;
    return new Response("{}");
  });
  // As Deno hands it over: request.url is the target as sent (a Request built here would resolve it).
  const raw = (url: string) => ({ url, headers: new Headers({ "x-request-id": "r-1" }) }) as Request;
  const refused = await fetch(raw("http://h/v1/echo/../admin/delete"));
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get("connection"), "close");
  assert.deepEqual((await refused.json()).error.code, "invalid_path");
  assert.equal((await fetch(raw("http://h/v1/a%2Fb/c"))).status, 400);
  assert.equal((await fetch(raw("http://h/v1/admin/delete"))).status, 200);
  assert.equal(served, 1);
});
