import { test } from "node:test";
import assert from "node:assert/strict";
import { isHeadProblem, parseHead } from "../../src/runtime/request_head.ts";
import type { RequestHead } from "../../src/runtime/request_head.ts";

function parsed(head: string): RequestHead {
  const result = parseHead(head);
  if (isHeadProblem(result)) assert.fail(`${JSON.stringify(head)} refused: ${result.message}`);
  return result;
}

test("parseHead() reads the request line, every field in order, and the framing", () => {
  const head = parsed(
    "POST /v1/a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-Request-Id: \t r-1 \t\r\nconnection: keep-alive, Close\r\n" +
      "Expect: 100-Continue\r\nContent-Length: 12\r\nEmpty:\r\n\r\n",
  );
  assert.equal(head.method, "POST");
  assert.equal(head.target, "/v1/a/b?x=1");
  assert.equal(head.minor, 1);
  assert.equal(head.host, "example.com:8080");
  assert.deepEqual(head.fields, [
    "host",
    "example.com:8080",
    "x-request-id",
    "r-1",
    "connection",
    "keep-alive, Close",
    "expect",
    "100-Continue",
    "content-length",
    "12",
    "empty",
    "",
  ]);
  assert.equal(head.requestId, "r-1", "spaces and tabs around a value are not part of it");
  assert.equal(head.close, true, "close among other connection options");
  assert.equal(head.expectContinue, true);
  assert.equal(head.contentLength, 12);
  assert.equal(head.chunked, false);

  const chunked = parsed("PUT http://h:1/x HTTP/1.1\r\nHost: h:1\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert.equal(chunked.target, "http://h:1/x", "the absolute form is kept as sent");
  assert.equal(chunked.chunked, true);
  assert.equal(chunked.contentLength, -1);
  assert.equal(chunked.close, false, "HTTP/1.1 keeps the connection by default");
  const old = parsed("GET / HTTP/1.0\r\n\r\n");
  assert.equal(old.minor, 0);
  assert.equal(old.close, true, "HTTP/1.0 closes by default");
  assert.equal(old.host, undefined);
  assert.equal(
    parsed("GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9\r\n\r\n").fields[3],
    "caf\xe9",
    "obs-text in a value is kept",
  );
  assert.equal(
    parsed("GET / HTTP/1.1\r\nHost: x\r\nX: \xa0v\xa0\r\n\r\n").fields[3],
    "\xa0v\xa0",
    "only spaces and tabs are trimmed",
  );
});

test("parseHead() refuses what two parsers could read differently, with the code of the JSON answer", () => {
  const refused: [string, string][] = [
    ["", "invalid_request"],
    ["GET /\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1 \r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/11\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.x\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / http/1.1\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", "invalid_request"],
    ["G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\nHost: x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\nX-Smuggled: 1\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\rX: 1\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost : x\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", "invalid_request"],
    ["GET / HTTP/1.1\r\nHost: x@y\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "invalid_request"],
    [
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "invalid_request",
    ],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", "invalid_request"],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999\r\n\r\n", "invalid_request"],
    ["GET /a/%2e%2E/b HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_path"],
    ["GET http://h/../x HTTP/1.1\r\nHost: h\r\n\r\n", "invalid_path"],
  ];
  for (const [head, code] of refused) {
    const result = parseHead(head);
    assert.ok(isHeadProblem(result), `${JSON.stringify(head)} is refused`);
    assert.equal(result.code, code, JSON.stringify(head));
  }
});
