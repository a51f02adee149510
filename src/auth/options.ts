import * as v from "valibot";

/** The JWT algorithms the router accepts; anything else (including `none`) is refused. */
export const JWT_ALGORITHMS = ["HS256", "RS256", "ES256"] as const;
export type JwtAlgorithm = typeof JWT_ALGORITHMS[number];

export const DEFAULT_API_KEY_HEADER = "x-api-key";
export const DEFAULT_REALM = "switchyard";
/** Leeway for `exp` and `nbf`, for clocks that drift apart. */
export const DEFAULT_CLOCK_SKEW_SEC = 30;
/** Verified tokens and passwords are remembered this long (never past a token's `exp`). */
export const DEFAULT_AUTH_CACHE_TTL_MS = 60_000;
/** Verified tokens and passwords remembered at most. */
export const DEFAULT_AUTH_CACHE_SIZE = 10_000;
export const DEFAULT_ADMIN_ROLES = ["admin"] as const;

const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const Roles = v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100)));
/** Glob over names: `*` any run of characters, `?` one character. */
const Glob = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const OneOrMany = v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))]);

export const ApiKeySchema = v.strictObject({
  /** The principal id requests with this key get. */
  id: Name,
  /** `sha256:<64 hex>` of the key (`switchyard hash-key` makes one). */
  hash: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lowercase hex digits (switchyard hash-key)')),
  roles: v.optional(Roles, []),
});

export const JwtKeySchema = v.pipe(
  v.strictObject({
    alg: v.picklist(JWT_ALGORITHMS),
    /** Matched against the token header's `kid` when both have one. */
    kid: v.optional(Name),
    /** HS256: the shared secret (at least 32 bytes). */
    secret: v.optional(v.pipe(v.string(), v.minLength(32, "an HS256 secret needs at least 32 characters"))),
    /** RS256/ES256: a PEM public key (SPKI, `-----BEGIN PUBLIC KEY-----`). */
    publicKey: v.optional(v.string()),
    /** RS256/ES256: a file holding the PEM public key. */
    publicKeyFile: v.optional(v.string()),
  }),
  v.check((k) => [k.secret, k.publicKey, k.publicKeyFile].filter((x) => x !== undefined).length === 1, "give exactly one of secret, publicKey, publicKeyFile"),
  v.check((k) => (k.alg === "HS256") === (k.secret !== undefined), "HS256 keys take a secret, RS256 and ES256 keys a public key"),
);

export const JwtSchema = v.pipe(
  v.strictObject({
    /** The algorithms accepted: an explicit allow-list. */
    algorithms: v.pipe(v.array(v.picklist(JWT_ALGORITHMS)), v.minLength(1)),
    keys: v.optional(v.array(JwtKeySchema), []),
    /** A JWKS (`{"keys":[...]}`) file of public keys. */
    jwksFile: v.optional(v.string()),
    issuer: v.optional(OneOrMany),
    audience: v.optional(OneOrMany),
    /** @default 30 */
    clockSkewSec: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(300)), DEFAULT_CLOCK_SKEW_SEC),
    /** The claim that names the principal. @default "sub" */
    principalClaim: v.optional(Name, "sub"),
    /** The claim holding roles: an array of strings or a space-separated string. @default "roles" */
    rolesClaim: v.optional(Name, "roles"),
  }),
  v.check((j) => j.keys.length > 0 || j.jwksFile !== undefined, "give keys or a jwksFile"),
);

export const BasicUserSchema = v.strictObject({
  username: v.pipe(v.string(), v.minLength(1), v.maxLength(200), v.regex(/^[^:]+$/, "must not contain ':'")),
  /** A PHC scrypt hash, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (`switchyard hash-password` makes one). */
  hash: v.pipe(v.string(), v.regex(/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/, "must be a $scrypt$ PHC hash (switchyard hash-password)")),
  roles: v.optional(Roles, []),
});

export const BasicSchema = v.strictObject({
  users: v.pipe(v.array(BasicUserSchema), v.minLength(1)),
});

export const MtlsSchema = v.strictObject({
  /** Which part of the client certificate's subject is the principal id. @default "cn" */
  principalFrom: v.optional(v.picklist(["cn", "subject"]), "cn"),
  /** Roles every certificate principal gets. */
  roles: v.optional(Roles, []),
});

export const RuleSchema = v.pipe(
  v.strictObject({
    /** Globs over principal ids. */
    principals: v.optional(v.array(Glob)),
    /** The principal has any of these roles. */
    roles: v.optional(v.array(Name)),
    /** Claim name → the value (or one of the values) it must have. */
    claims: v.optional(v.record(Name, OneOrMany)),
    /** Globs over plugin names. */
    plugins: v.pipe(v.array(Glob), v.minLength(1)),
    /** Globs over method names. @default ["*"] */
    methods: v.optional(v.pipe(v.array(Glob), v.minLength(1)), ["*"]),
  }),
  v.check((r) => r.principals !== undefined || r.roles !== undefined || r.claims !== undefined, "say whom it grants: principals, roles or claims"),
);

/** `auth` in the config: any combination of the four schemes, and the grants. */
export const AuthSchema = v.strictObject({
  apiKeys: v.optional(
    v.strictObject({
      header: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]{1,64}$/)), DEFAULT_API_KEY_HEADER),
      keys: v.pipe(v.array(ApiKeySchema), v.minLength(1)),
    }),
  ),
  jwt: v.optional(JwtSchema),
  basic: v.optional(BasicSchema),
  /** Principals from client certificates; needs `router.tls.clientCaFile`. */
  mtls: v.optional(MtlsSchema),
  /** `realm` of the `WWW-Authenticate` challenges. @default "switchyard" */
  realm: v.optional(v.pipe(v.string(), v.regex(/^[^"\\]{1,100}$/)), DEFAULT_REALM),
  /**
   * Who may call what. Absent: every authenticated principal may call every plugin. Present: only
   * what a rule grants; anything else is 403 `forbidden`.
   */
  rules: v.optional(v.array(RuleSchema)),
  /** Roles that may use `/admin/*`. @default ["admin"] */
  adminRoles: v.optional(v.pipe(v.array(Name), v.minLength(1)), [...DEFAULT_ADMIN_ROLES]),
  /** How long verified tokens and passwords are remembered. @default 60000 */
  cacheTtlMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000)), DEFAULT_AUTH_CACHE_TTL_MS),
  /** @default 10000 */
  cacheSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000)), DEFAULT_AUTH_CACHE_SIZE),
});

export type AuthOptions = v.InferInput<typeof AuthSchema>;
export type ResolvedAuthOptions = v.InferOutput<typeof AuthSchema>;
export type ResolvedJwtOptions = v.InferOutput<typeof JwtSchema>;
export type ResolvedRule = v.InferOutput<typeof RuleSchema>;
