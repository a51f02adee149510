import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { createAuthenticator } from "./authenticator.ts";
import type { Authenticator, PeerInfo } from "./authenticator.ts";
import { Authorizer } from "./authorizer.ts";
import type { ResolvedAuthOptions } from "./options.ts";
import type { Authenticated } from "./principal.ts";

/** Authentication and authorization as the router uses them. */
export class RouterAuth {
  readonly #authenticator: Authenticator;
  readonly #authorizer: Authorizer;

  constructor(authenticator: Authenticator, authorizer: Authorizer) {
    this.#authenticator = authenticator;
    this.#authorizer = authorizer;
  }

  /**
   * Builds both from the config's `auth` section.
   * @throws {Error} when a key or file of the config cannot be read.
   */
  static async create(options: ResolvedAuthOptions, deps: { clock: Clock; logger: Logger }): Promise<RouterAuth> {
    return new RouterAuth(await createAuthenticator(options, deps), new Authorizer(options.rules, options.adminRoles));
  }

  /** @see Authenticator.authenticate */
  authenticate(req: Request, peer: PeerInfo | undefined): Authenticated | Promise<Authenticated> {
    return this.#authenticator.authenticate(req, peer);
  }

  /** @throws {SwitchyardError} 403 `forbidden` unless a rule grants `plugin.method`. */
  authorize(who: Authenticated, plugin: string, method: string): void {
    if (!this.#authorizer.allows(who.principal, plugin, method)) {
      throw new SwitchyardError(ErrorCode.Forbidden, `"${who.principal.id}" may not call "${plugin}.${method}"`);
    }
  }

  /** @throws {SwitchyardError} 403 `forbidden` without an admin role. */
  requireAdmin(who: Authenticated): void {
    if (!this.#authorizer.isAdmin(who.principal)) {
      throw new SwitchyardError(ErrorCode.Forbidden, `"${who.principal.id}" has no admin role`);
    }
  }
}
