import * as v from "valibot";

/**
 * `admin`: the router's `/admin/…` routes (drain, resume, in-flight counts). Off unless enabled,
 * because whoever reaches them can stop traffic to a plugin.
 */
export const AdminSchema = v.strictObject({
  /** Serve `/admin/…`. @default false (`switchyard dev` turns it on) */
  enabled: v.optional(v.boolean(), false),
  /** When set, admin requests need `Authorization: Bearer <token>`. */
  token: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
});
export type ResolvedAdminOptions = v.InferOutput<typeof AdminSchema>;
