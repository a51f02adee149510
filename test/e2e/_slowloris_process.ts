/**
 * Slowloris sockets run as their own process, so that neither the router nor the test's normal
 * traffic shares an event loop with them: `count` sockets each send a request's headers one line
 * every `everyMs`, for as long as the server lets them (at most `maxMs`). Prints `slowloris:
 * connected` once every socket is connected, then one line `SLOWLORIS_RESULT {"sockets":[…]}`
 * with, per socket, `[closedAfterMs, sinceDialMs, byServer]`: ms from its connect as this process saw
 * it, ms from before it dialled (the server's clock for it starts between the two: on a loaded machine
 * this process may see its connect late), and whether the server closed it, not the `maxMs` limit.
 *   node _slowloris_process.ts '{"port":8080,"count":200,"everyMs":200,"maxMs":5000}'
 */
import { connect } from "node:net";
import process from "node:process";

interface SlowlorisSpec {
  port: number;
  count: number;
  everyMs: number;
  maxMs: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as SlowlorisSpec;
if (!(spec.port > 0) || !(spec.count > 0) || !(spec.everyMs > 0) || !(spec.maxMs > 0)) {
  process.stderr.write('usage: _slowloris_process.ts \'{"port":8080,"count":200,"everyMs":200,"maxMs":5000}\'\n');
  process.exit(2);
}

let started = 0;
/** Counts a socket that connected (or failed to): once all have, the attack is on. */
const onStarted = () => {
  if (++started === spec.count) process.stdout.write("slowloris: connected\n");
};

function slowSocket(): Promise<[number, number, boolean]> {
  return new Promise((resolve) => {
    const dialled = performance.now();
    const socket = connect(spec.port, "127.0.0.1");
    let t0 = dialled;
    let timer: ReturnType<typeof setInterval> | undefined;
    let n = 0;
    let connected = false;
    // Our own limit, far past the header timeout: reaching it means the server never closed us.
    const safety = setTimeout(() => finish(false), spec.maxMs);
    const finish = (byServer: boolean) => {
      if (!connected) {
        connected = true;
        onStarted();
      }
      clearInterval(timer);
      clearTimeout(safety);
      socket.destroy();
      const now = performance.now();
      resolve([Math.round(now - t0), Math.round(now - dialled), byServer]);
    };
    socket.on("connect", () => {
      t0 = performance.now();
      socket.write("POST /v1/hello/greet HTTP/1.1\r\nHost: x\r\n");
      timer = setInterval(() => socket.writable && socket.write(`X-Slow-${n++}: ${"y".repeat(8)}\r\n`), spec.everyMs);
      connected = true;
      onStarted();
    });
    // Read what the server sends (its 408): a paused socket would not see the server's close.
    socket.resume();
    socket.on("error", () => {});
    socket.on("close", () => finish(true));
  });
}

const sockets = await Promise.all(Array.from({ length: spec.count }, slowSocket));
process.stdout.write(`SLOWLORIS_RESULT ${JSON.stringify({ sockets })}\n`);
