import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import type { NatsCredentials } from "../bus/credentials.ts";

const Text = v.pipe(v.string(), v.minLength(1));

/** The file an instance reads its NATS credentials from (`switchyard plugin --nats-credentials`). */
export const CredentialsFileSchema = v.strictObject({
  user: v.optional(Text),
  pass: v.optional(v.string()),
  token: v.optional(Text),
  nkeySeedFile: v.optional(Text),
  credsFile: v.optional(Text),
  tls: v.optional(
    v.strictObject({ caFile: v.optional(Text), certFile: v.optional(Text), keyFile: v.optional(Text) }),
  ),
  inboxPrefix: v.optional(Text),
});

/** A per-instance folder (0700) holding its credentials (0600), removed when the instance exits. */
export interface InstanceSecrets {
  readonly dir: string;
  /** `<dir>/nats.json`: passed as `--nats-credentials`. */
  readonly file: string;
  /** Removes the folder (idempotent). */
  remove(): void;
}

/**
 * Writes one instance's NATS credentials into a folder of its own: `nats.json` (user, password,
 * token, inbox prefix, and the paths of the files beside it) and copies of its nkey seed, creds
 * file and TLS client certificate and key, plus the CA of the servers (`serverCaFile`, the
 * supervisor's, unless the plugin names its own), all readable by this user only. Nothing is
 * written (`undefined`) when there is nothing to pass.
 * @throws {Error} naming a credential file that cannot be read.
 */
export function writeInstanceCredentials(
  creds: NatsCredentials | undefined,
  serverCaFile?: string,
): InstanceSecrets | undefined {
  const caFile = creds?.tls?.caFile ?? serverCaFile;
  if (creds === undefined && caFile === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "switchyard-instance-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const copy = (what: string, from: string, name: string) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(from);
      } catch (err) {
        throw new Error(`Cannot read the NATS ${what} ${from}: ${(err as Error).message}`, { cause: err });
      }
      const to = join(dir, name);
      writeFileSync(to, bytes, { mode: 0o600, flag: "wx" });
      return to;
    };
    const out: v.InferOutput<typeof CredentialsFileSchema> = {};
    if (creds?.user !== undefined) out.user = creds.user;
    if (creds?.pass !== undefined) out.pass = creds.pass;
    if (creds?.token !== undefined) out.token = creds.token;
    if (creds?.inboxPrefix !== undefined) out.inboxPrefix = creds.inboxPrefix;
    if (creds?.nkeySeedFile !== undefined) {
      out.nkeySeedFile = copy("nkey seed file", creds.nkeySeedFile, "nkey.seed");
    }
    if (creds?.credsFile !== undefined) out.credsFile = copy("creds file", creds.credsFile, "user.creds");
    const tls: NonNullable<typeof out.tls> = {};
    if (caFile !== undefined) tls.caFile = copy("CA file", caFile, "ca.pem");
    if (creds?.tls?.certFile !== undefined) {
      tls.certFile = copy("certificate", creds.tls.certFile, "cert.pem");
    }
    if (creds?.tls?.keyFile !== undefined) tls.keyFile = copy("key", creds.tls.keyFile, "key.pem");
    if (Object.keys(tls).length > 0) out.tls = tls;
    const file = join(dir, "nats.json");
    writeFileSync(file, JSON.stringify(out), { mode: 0o600, flag: "wx" });
    return { dir, file, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/**
 * Reads a credentials file written by {@linkcode writeInstanceCredentials}.
 * @throws {Error} when it cannot be read or is not one.
 */
export function readCredentialsFile(path: string): NatsCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`Cannot read the NATS credentials file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = v.safeParse(CredentialsFileSchema, raw);
  if (!parsed.success) {
    throw new Error(
      `${path} is not a NATS credentials file: ${
        parsed.issues.map((i) => `${v.getDotPath(i) ?? "(root)"}: ${i.message}`).join("; ")
      }`,
    );
  }
  // Parsed from JSON: a key is either there with a value or not there at all.
  return parsed.output as NatsCredentials;
}
