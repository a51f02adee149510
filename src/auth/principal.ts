import { H_PRINCIPAL } from "../bus/mod.ts";
import type { Principal } from "../plugin/mod.ts";

/** A principal with its `sy-principal` header value, serialised once. */
export interface Authenticated {
  readonly principal: Principal;
  /** JSON of the principal, sent to plugins as the `sy-principal` NATS header. */
  readonly header: string;
}

/** The header the principal travels in. */
export const PRINCIPAL_HEADER = H_PRINCIPAL;

/** Freezes `principal` and serialises it once. */
export function authenticated(principal: Principal): Authenticated {
  const frozen = Object.freeze({ ...principal, ...(principal.roles === undefined ? {} : { roles: Object.freeze([...principal.roles]) }) });
  return Object.freeze({ principal: frozen, header: JSON.stringify(frozen) });
}
