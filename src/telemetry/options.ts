import * as v from "valibot";

/** `log`: the JSON (or pretty) log lines' level and format. */
export const LogOptionsSchema = v.strictObject({
  level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
  format: v.optional(v.picklist(["json", "pretty"]), "json"),
});
