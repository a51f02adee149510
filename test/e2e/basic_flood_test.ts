/**
 * Failed Basic logins cannot starve valid ones: 16 clients keep sending wrong passwords (half for
 * an existing user, half for made-up ones) to a real router while users log in for the first time.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { hashPassword } from "../../src/auth/mod.ts";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";

const ATTACKERS = 16;
const USERS = 8;

test("16 clients sending wrong Basic passwords leave first-time valid logins succeeding", async () => {
  const users = Array.from(
    { length: USERS },
    (_, i) => ({ username: `user-${i}`, password: `pw-${i}-${randomBytes(6).toString("hex")}` }),
  );
  await using stack = await startStack([fixturePath("whoami")], {
    auth: {
      basic: {
        users: [
          { username: "alice", hash: await hashPassword("wonderland", 14), roles: ["caller"] },
          ...await Promise.all(
            users.map(async (u) => ({
              username: u.username,
              hash: await hashPassword(u.password, 14),
              roles: ["caller"],
            })),
          ),
        ],
      },
      rules: [{ roles: ["caller"], plugins: ["whoami"] }],
    },
  });
  const basic = (user: string, pass: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`,
  });
  const attacks = new Map<number, number>();
  let stop = false;
  const attackers = Array.from({ length: ATTACKERS }, async (_, i) => {
    while (!stop) {
      // A fresh wrong password each time: nothing for a cache to remember.
      const user = i % 2 === 0 ? "alice" : `nobody-${randomBytes(4).toString("hex")}`;
      const res = await stack.post("whoami/me", {}, basic(user, randomBytes(8).toString("hex")));
      attacks.set(res.status, (attacks.get(res.status) ?? 0) + 1);
    }
  });
  try {
    // The slots are busy with wrong passwords before anyone valid arrives.
    await waitFor(() => [...attacks.values()].reduce((a, b) => a + b, 0) >= ATTACKERS * 2, {
      timeoutMs: 30_000,
      message: "the attack to get going",
    });
    const logins = await Promise.all(users.map(async (u) => {
      const res = await stack.post("whoami/me", {}, basic(u.username, u.password));
      return {
        user: u.username,
        status: res.status,
        code: res.body?.error?.code,
        ms: res.ms,
        id: res.body?.principal?.id,
      };
    }));
    const attacked = Object.fromEntries(attacks);
    process.stdout.write(
      `# ${USERS} first-time Basic logins under ${ATTACKERS} attackers: statuses ${
        logins.map((l) => l.status).join(",")
      }; ` +
        `slowest ${Math.max(...logins.map((l) => l.ms)).toFixed(0)} ms; attack answers so far ${
          JSON.stringify(attacked)
        }\n`,
    );
    for (const l of logins) {
      assert.equal(l.status, 200, `${l.user}: ${l.status} ${l.code ?? ""}`);
      assert.equal(l.id, l.user);
    }
    assert.ok((attacks.get(401) ?? 0) > 0, "the attackers were refused");
  } finally {
    stop = true;
    await Promise.all(attackers);
  }
});
