import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { createAuthenticator } from "./authenticator.ts";
import type { Authenticator, PeerInfo } from "./authenticator.ts";
import { Authorizer } from "./authorizer.ts";
import type { ResolvedAuthOptions } from "./options.ts";
import type { Authenticated } from "./principal.ts";

/**
 * Authentication and authorization as the router uses them. {@linkcode RouterAuth.reconfigure}
 * swaps both for a reloaded config at once: the next request sees only the new keys, users, JWT
 * keys and rules, and nothing verified under the old ones is remembered.
 */
export class RouterAuth {
  #authenticator: Authenticator;
  #authorizer: Authorizer;
  readonly #deps: { clock: Clock; logger: Logger } | undefined;

  constructor(authenticator: Authenticator, authorizer: Authorizer, deps?: { clock: Clock; logger: Logger }) {
    this.#authenticator = authenticator;
    this.#authorizer = authorizer;
    this.#deps = deps;
  }

  /**
   * Builds both from the config's `auth` section.
   * @throws {Error} when a key or file of the config cannot be read.
   */
  static async create(options: ResolvedAuthOptions, deps: { clock: Clock; logger: Logger }): Promise<RouterAuth> {
    return new RouterAuth(await createAuthenticator(options, deps), new Authorizer(options.rules, options.adminRoles), deps);
  }

  /**
   * Replaces credentials and grants with those of `options` (a reloaded config). Everything is
   * built first (keys imported, files read), then swapped in one step; the caches of verified
   * tokens and passwords go with the old authenticator, so a removed key, user or JWT key fails
   * from the next request on.
   * @throws {Error} when a key or file cannot be read; the running settings then stay.
   */
  async reconfigure(options: ResolvedAuthOptions): Promise<void> {
    if (this.#deps === undefined) throw new TypeError("RouterAuth.reconfigure() needs an instance from RouterAuth.create()");
    const authenticator = await createAuthenticator(options, this.#deps);
    this.#authorizer = new Authorizer(options.rules, options.adminRoles);
    this.#authenticator = authenticator;
  }

  /** The `WWW-Authenticate` value of a 401. */
  get challenge(): string {
    return this.#authenticator.challenge;
  }

  /** @see Authenticator.authenticate */
  authenticate(req: Request, peer: PeerInfo | undefined): Authenticated | Promise<Authenticated> {
    return this.#authenticator.authenticate(req, peer);
  }

  /** Whether a rule grants `who` the method `plugin.method`. */
  mayCall(who: Authenticated, plugin: string, method: string): boolean {
    return this.#authorizer.allows(who.principal, plugin, method);
  }

  /**
   * Whether a rule grants `who` any method of `plugin`. The router answers a plugin `who` may not
   * see exactly like one that does not exist (404), and leaves it out of the catalog.
   */
  maySee(who: Authenticated, plugin: string): boolean {
    return this.#authorizer.grantsPlugin(who.principal, plugin);
  }

  /** Whether `who` has an admin role (`auth.adminRoles`). */
  isAdmin(who: Authenticated): boolean {
    return this.#authorizer.isAdmin(who.principal);
  }

  /** Whether `who` has one of `roles` or an admin role. */
  hasRoleOrAdmin(who: Authenticated, roles: readonly string[]): boolean {
    return this.#authorizer.hasAnyRole(who.principal, roles) || this.#authorizer.isAdmin(who.principal);
  }

  /** @throws {SwitchyardError} 403 `forbidden` without an admin role. */
  requireAdmin(who: Authenticated): void {
    if (!this.#authorizer.isAdmin(who.principal)) {
      throw new SwitchyardError(ErrorCode.Forbidden, `"${who.principal.id}" has no admin role`);
    }
  }
}
