/**
 * What a JavaScript or TypeScript module's source says it loads, read with a small tokenizer
 * (strings, template literals, comments and regular expressions are skipped properly), so an
 * import inside a comment or a string is not one, and one hidden after a regex still is.
 * @module
 */

/** One module a source loads by a literal specifier. */
export interface StaticImport {
  specifier: string;
  /** 1-based. */
  line: number;
}

/** Code a source loads or evaluates that no literal names. */
export interface ComputedLoad {
  /** `import(…)`, `require(…)`, `eval(…)` or `Function(…)`. */
  kind: "import()" | "require()" | "eval()" | "Function()";
  line: number;
}

/** What {@linkcode scanImports} finds. */
export interface ModuleImports {
  /** `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`, `require("x")`. */
  imports: StaticImport[];
  /** `import(name)`, `import("./" + x)`, `require(x)`, `eval(…)`, `new Function(…)`. */
  computed: ComputedLoad[];
}

type Token =
  | { kind: "ident"; value: string; line: number }
  | { kind: "punct"; value: string; line: number }
  | { kind: "string"; value: string; line: number }
  /** A template literal; `value` only when it has no `${…}`. */
  | { kind: "template"; value: string | undefined; line: number }
  | { kind: "regex" | "number"; line: number };

/** After these, a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX_WORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/** Reads `source` and lists the modules it imports, and the places it loads code no literal names. */
export function scanImports(source: string): ModuleImports {
  const tokens = tokenize(source);
  const imports: StaticImport[] = [];
  const computed: ComputedLoad[] = [];
  const literal = (t: Token | undefined): string | undefined =>
    t?.kind === "string" ? t.value : t?.kind === "template" ? t.value : undefined;
  const isPunct = (t: Token | undefined, value: string) => t?.kind === "punct" && t.value === value;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== "ident") continue;
    const prev = tokens[i - 1];
    // `x.import`, `obj.require(…)` and `function require(…)` are not loads.
    if (isPunct(prev, ".") || isPunct(prev, "?.") || (prev?.kind === "ident" && prev.value === "function")) {
      continue;
    }
    const next = tokens[i + 1];
    if (t.value === "import" || t.value === "require") {
      if (isPunct(next, "(")) {
        const arg = literal(tokens[i + 2]);
        const after = tokens[i + 3];
        if (arg !== undefined && (isPunct(after, ")") || isPunct(after, ","))) {
          imports.push({ specifier: arg, line: t.line });
        } else computed.push({ kind: t.value === "import" ? "import()" : "require()", line: t.line });
      } else if (t.value === "import" && next?.kind === "string") {
        imports.push({ specifier: next.value, line: t.line });
      }
    } else if (t.value === "from" && next?.kind === "string") {
      imports.push({ specifier: next.value, line: next.line });
    } else if ((t.value === "eval" || t.value === "Function") && isPunct(next, "(")) {
      computed.push({ kind: t.value === "eval" ? "eval()" : "Function()", line: t.line });
    }
  }
  return { imports, computed };
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  /** One entry per open `{`: true when it is a template's `${`. */
  const braces: boolean[] = [];
  let i = src.startsWith("#!") ? src.indexOf("\n") : 0;
  if (i < 0) return tokens;
  let line = 1;
  const last = () => tokens[tokens.length - 1];
  const regexAllowed = () => {
    const t = last();
    if (t === undefined) return true;
    if (t.kind === "ident") return BEFORE_REGEX_WORDS.has(t.value);
    if (t.kind === "punct") return t.value !== ")" && t.value !== "]";
    return false;
  };
  /** Scans a template's text from `i` (after "`" or "}"); returns at its end or at a `${`. */
  const templatePart = (startLine: number, startText: string | undefined): void => {
    let text = startText;
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        text = text === undefined ? undefined : text + src.slice(i, i + 2);
        if (src[i + 1] === "\n") line++;
        i += 2;
      } else if (c === "`") {
        i++;
        tokens.push({
          kind: "template",
          value: text === undefined ? undefined : unescape(text),
          line: startLine,
        });
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        braces.push(true);
        tokens.push({ kind: "template", value: undefined, line: startLine });
        return;
      } else {
        if (c === "\n") line++;
        text = text === undefined ? undefined : text + c;
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (
      c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\u00a0" || c === "\ufeff"
    ) {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === "\n") line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      const startLine = line;
      let value = "";
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") {
          value += src.slice(i, i + 2);
          if (src[i + 1] === "\n") line++;
          i += 2;
        } else value += src[i++];
      }
      i++;
      tokens.push({ kind: "string", value: unescape(value), line: startLine });
    } else if (c === "`") {
      i++;
      templatePart(line, "");
    } else if (c === "}" && braces.at(-1) === true) {
      braces.pop();
      i++;
      // The rest of a template after a substitution: it already has one, so no literal value.
      templatePart(line, undefined);
    } else if (c === "/" && regexAllowed()) {
      const startLine = line;
      let inClass = false;
      i++;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") i += 2;
        else {
          i++;
          if (r === "[") inClass = true;
          else if (r === "]") inClass = false;
          else if (r === "/" && !inClass) break;
        }
      }
      while (i < src.length && /[A-Za-z]/.test(src[i]!)) i++;
      tokens.push({ kind: "regex", line: startLine });
    } else if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      const start = i;
      while (i < src.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(src[i]!)) i++;
      tokens.push({ kind: "ident", value: src.slice(start, i), line });
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      while (i < src.length && /[0-9A-Za-z_.]/.test(src[i]!)) i++;
      tokens.push({ kind: "number", line });
    } else {
      if (c === "{") braces.push(false);
      else if (c === "}") braces.pop();
      const two = src.slice(i, i + 2);
      const value = two === "?." || two === "=>" ? two : c;
      i += value.length;
      tokens.push({ kind: "punct", value, line });
    }
  }
  return tokens;
}

/** The common escapes of a string literal; specifiers rarely have any. */
function unescape(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r?\n|.)/g, (_m, e: string) => {
    if (e.startsWith("u{")) return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    if (e.startsWith("u") && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e.startsWith("x") && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e === "\n" || e === "\r\n") return "";
    return ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<string, string>)[
      e
    ] ?? e;
  });
}
