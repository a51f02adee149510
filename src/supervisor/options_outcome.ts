/** What became of new options pushed to a plugin's running instances. */
export type OptionsOutcome =
  /** In force; `ignored` are the dotted paths the plugin's schema does not know (dropped, not in force). */
  | { applied: true; ignored: string[] }
  /** Refused by the plugin (its options schema): the previous options stay everywhere. */
  | { applied: false; message: string };

/**
 * The dotted paths of `sent` that are absent from `inForce` (the options an instance reports after
 * parsing them): keys its schema does not know, which it dropped.
 */
export function ignoredOptions(sent: unknown, inForce: unknown): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (!isRecord(a)) return;
    for (const [key, value] of Object.entries(a)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (!isRecord(b) || !(key in b)) out.push(at);
      else walk(value, b[key], at);
    }
  };
  walk(sent, inForce, "");
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
