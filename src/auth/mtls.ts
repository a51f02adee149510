import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";

/** The verified client certificate of a TLS connection, as the runtime adapter reports it. */
export interface ClientCertificate {
  /** Subject attributes, e.g. `{ CN: "alice", O: "Acme" }`. */
  readonly subject: Readonly<Record<string, string | readonly string[]>>;
  /** SHA-256 fingerprint, `AB:CD:…`. */
  readonly fingerprint256?: string;
}

const MAX_SUBJECTS = 10_000;

/** `CN=alice,O=Acme` from subject attributes (in the order the runtime reports them). */
export function subjectString(subject: ClientCertificate["subject"]): string {
  return Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`).join(",");
}

/** Principals from client certificates, one per subject (remembered, bounded). */
export class CertificatePrincipals {
  readonly #from: "cn" | "subject";
  readonly #roles: readonly string[];
  readonly #known = new Map<string, Authenticated>();

  constructor(options: { principalFrom: "cn" | "subject"; roles: readonly string[] }) {
    this.#from = options.principalFrom;
    this.#roles = options.roles;
  }

  /** The principal of `cert`, or undefined when it has no usable subject. */
  of(cert: ClientCertificate): Authenticated | undefined {
    const subject = subjectString(cert.subject);
    let who = this.#known.get(subject);
    if (who !== undefined) return who;
    const cn = cert.subject.CN;
    const id = this.#from === "subject" ? subject : Array.isArray(cn) ? cn[0] : cn;
    if (typeof id !== "string" || id === "") return undefined;
    who = authenticated({ id, scheme: "mtls", roles: this.#roles, claims: { subject, ...(cert.fingerprint256 === undefined ? {} : { fingerprint256: cert.fingerprint256 }) } });
    if (this.#known.size >= MAX_SUBJECTS) this.#known.clear();
    this.#known.set(subject, who);
    return who;
  }
}
