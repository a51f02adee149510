import type { Principal } from "../plugin/mod.ts";
import { globsMatcher } from "./glob.ts";
import type { ResolvedRule } from "./options.ts";

interface CompiledRule {
  who: (p: Principal) => boolean;
  plugin: (name: string) => boolean;
  method: (name: string) => boolean;
}

/**
 * Grants from the config's `auth.rules`. Without rules every authenticated principal may call
 * everything; with rules, only what some rule grants. A rule grants when all its conditions
 * hold: the principal id matches a glob of `principals`, it has one of `roles`, and each claim
 * of `claims` has the given value (or one of them).
 */
export class Authorizer {
  readonly #rules: readonly CompiledRule[] | undefined;
  readonly #adminRoles: readonly string[];

  constructor(rules: readonly ResolvedRule[] | undefined, adminRoles: readonly string[]) {
    this.#rules = rules?.map(compile);
    this.#adminRoles = adminRoles;
  }

  /** Whether `principal` may call `plugin.method`. */
  allows(principal: Principal, plugin: string, method: string): boolean {
    const rules = this.#rules;
    if (rules === undefined) return true;
    for (const rule of rules) {
      if (rule.plugin(plugin) && rule.method(method) && rule.who(principal)) return true;
    }
    return false;
  }

  /**
   * Whether some rule grants `principal` any method of `plugin`: for that principal the plugin
   * exists (a plugin no rule grants it is answered as if there were none).
   */
  grantsPlugin(principal: Principal, plugin: string): boolean {
    const rules = this.#rules;
    if (rules === undefined) return true;
    for (const rule of rules) {
      if (rule.plugin(plugin) && rule.who(principal)) return true;
    }
    return false;
  }

  /** Whether `principal` has one of `roles`. */
  hasAnyRole(principal: Principal, roles: readonly string[]): boolean {
    return principal.roles?.some((r) => roles.includes(r)) ?? false;
  }

  /** Whether `principal` has an admin role. */
  isAdmin(principal: Principal): boolean {
    return principal.roles?.some((r) => this.#adminRoles.includes(r)) ?? false;
  }
}

function compile(rule: ResolvedRule): CompiledRule {
  const ids = rule.principals && globsMatcher(rule.principals);
  const roles = rule.roles && new Set(rule.roles);
  const claims = rule.claims && Object.entries(rule.claims).map(([name, want]) => [name, typeof want === "string" ? [want] : want] as const);
  return {
    plugin: globsMatcher(rule.plugins),
    method: globsMatcher(rule.methods),
    who: (p) => (ids === undefined || ids(p.id)) && (roles === undefined || hasRole(p, roles)) && (claims === undefined || claimsMatch(p, claims)),
  };
}

function hasRole(p: Principal, roles: ReadonlySet<string>): boolean {
  const mine = p.roles;
  if (mine === undefined) return false;
  for (let i = 0; i < mine.length; i++) if (roles.has(mine[i]!)) return true;
  return false;
}

function claimsMatch(p: Principal, claims: readonly (readonly [string, readonly string[]])[]): boolean {
  for (const [name, want] of claims) if (!claimMatches(p.claims?.[name], want)) return false;
  return true;
}

function claimMatches(value: unknown, want: readonly string[]): boolean {
  if (typeof value === "string") return want.includes(value);
  if (typeof value === "number" || typeof value === "boolean") return want.includes(String(value));
  if (Array.isArray(value)) return value.some((v) => typeof v === "string" && want.includes(v));
  return false;
}
