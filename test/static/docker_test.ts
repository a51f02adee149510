// Runs once: it checks the repository's files, which no runtime changes.
/**
 * Static checks of docker/: Dockerfiles, per-Dockerfile ignore files, compose.yaml, the k8s example and
 * the docs that name them. No Docker engine needed; runs on Deno, Bun and Node.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser } from "dockerfile-ast";
import type { Dockerfile, Instruction } from "dockerfile-ast";
import { parse, parseAllDocuments } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DOCKER = join(ROOT, "docker");
const COMPOSE_FILE = join(DOCKER, "compose.yaml");
const DOCKERFILES = ["router.deno", "router.bun", "plugin.deno", "plugin.bun"].map((n) =>
  `docker/${n}.Dockerfile`
);
const PLUGIN_LINK = /\bln\s+-s\s+"?([^"\s]+)"?\s+"?([^"\s]+)"?/;

type Json = Record<string, unknown>;

function read(rel: string): string {
  return readFileSync(join(ROOT, rel), "utf8");
}

function asRecord(value: unknown, what: string): Json {
  assert.ok(
    value !== null && typeof value === "object" && !Array.isArray(value),
    `${what} must be a mapping`,
  );
  return value as Json;
}

/** `${NAME}` / `$NAME` replaced by the ARG defaults declared in the file (a Dockerfile's build-time view). */
function expand(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? "") ?? whole,
  );
}

interface ParsedDockerfile {
  readonly path: string;
  readonly df: Dockerfile;
  readonly args: ReadonlyMap<string, string>;
  /** The last stage's instructions: what the image is. */
  readonly final: readonly Instruction[];
}

function parseDockerfile(path: string): ParsedDockerfile {
  const df = DockerfileParser.parse(read(path));
  const args = new Map<string, string>();
  for (const arg of df.getARGs()) {
    const name = arg.getProperty()?.getName();
    const value = arg.getProperty()?.getValue();
    if (name !== undefined && value !== undefined && value !== null) args.set(name, value);
  }
  const all = df.getInstructions();
  const lastFrom = all.findLastIndex((i) => i.getKeyword() === "FROM");
  return { path, df, args, final: all.slice(Math.max(lastFrom, 0)) };
}

function keyword(p: ParsedDockerfile, kw: string): Instruction[] {
  return p.final.filter((i) => i.getKeyword() === kw);
}

/** Exec-form (JSON) arguments of an instruction, or null for shell form. */
function execForm(i: Instruction): string[] | null {
  const raw = i.getArgumentsContent() ?? "";
  if (!raw.trim().startsWith("[")) return null;
  const value: unknown = JSON.parse(raw);
  assert.ok(
    Array.isArray(value) && value.every((s) => typeof s === "string"),
    `${raw} is not a JSON string array`,
  );
  return value as string[];
}

/** Links the Dockerfile makes with `ln -s`, as repo-relative link → target (for the PLUGIN folder). */
function links(p: ParsedDockerfile): Map<string, string> {
  const out = new Map<string, string>();
  for (const run of keyword(p, "RUN")) {
    const m = PLUGIN_LINK.exec(expand(run.getArgumentsContent() ?? "", p.args));
    if (m?.[1] !== undefined && m[2] !== undefined) {
      out.set(normalize(m[2]), join(dirname(normalize(m[2])), m[1]));
    }
  }
  return out;
}

/** Tag of an image reference: `name:tag[@digest]`; null when there is none. */
function imageTag(image: string): string | null {
  const noDigest = image.split("@")[0] ?? "";
  const lastSegment = noDigest.slice(noDigest.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return colon === -1 ? null : lastSegment.slice(colon + 1);
}

function assertPinned(image: string, where: string): void {
  const tag = imageTag(image);
  assert.ok(tag !== null && tag !== "", `${where}: image "${image}" has no tag; pin an exact version`);
  assert.notEqual(tag, "latest", `${where}: image "${image}" uses "latest"; pin an exact version`);
  assert.match(tag, /\d+\.\d+\.\d+/, `${where}: image "${image}" is not pinned to an exact x.y.z version`);
}

const parsed = DOCKERFILES.filter((p) => existsSync(join(ROOT, p))).map(parseDockerfile);

test("docker/ has the four Dockerfiles", () => {
  for (const p of DOCKERFILES) assert.ok(existsSync(join(ROOT, p)), `${p} is missing`);
});

for (const p of parsed) {
  test(`${p.path}: multi-stage, every FROM pinned and never latest`, () => {
    const froms = p.df.getFROMs();
    assert.ok(froms.length > 1, `${p.path} must have more than one stage`);
    const stages = new Set<string>();
    for (const from of froms) {
      const image = expand(from.getImage() ?? "", p.args);
      if (!stages.has(image)) assertPinned(image, p.path);
      const stage = from.getBuildStage();
      if (stage !== null) stages.add(stage);
    }
  });

  test(`${p.path}: final stage has HEALTHCHECK, non-root USER, STOPSIGNAL SIGTERM`, () => {
    const hc = keyword(p, "HEALTHCHECK");
    assert.equal(hc.length, 1, `${p.path} needs one HEALTHCHECK in its final stage`);
    assert.notEqual(
      hc[0]?.getArguments()[0]?.getValue().toUpperCase(),
      "NONE",
      `${p.path}: HEALTHCHECK NONE`,
    );
    const user = keyword(p, "USER").at(-1)?.getArgumentsContent()?.trim();
    assert.ok(user !== undefined, `${p.path} needs a USER in its final stage`);
    assert.ok(!/^(root|0)(:|$)/.test(user), `${p.path} runs as root (USER ${user})`);
    assert.equal(keyword(p, "STOPSIGNAL").at(-1)?.getArgumentsContent()?.trim(), "SIGTERM");
  });

  test(`${p.path}: ENTRYPOINT and CMD are exec form`, () => {
    for (const kw of ["ENTRYPOINT", "CMD"]) {
      const last = keyword(p, kw).at(-1);
      assert.ok(last !== undefined, `${p.path} needs ${kw}`);
      assert.ok(execForm(last) !== null, `${p.path}: ${kw} must be exec form (JSON array)`);
    }
  });

  test(`${p.path}: every COPY/ADD source exists in the build context`, () => {
    const adds = p.df.getInstructions().filter((i) => i.getKeyword() === "ADD");
    // COPY --from=<stage> copies between stages, not from the context.
    for (const i of [...p.df.getCOPYs().filter((c) => c.getFromFlag() === null), ...adds]) {
      const values = execForm(i) ?? i.getArguments().map((a) => a.getValue());
      for (const src of values.slice(0, -1)) {
        const rel = expand(src, p.args);
        assert.ok(existsSync(join(ROOT, rel)), `${p.path}: ${i.getKeyword()} source "${rel}" does not exist`);
      }
    }
  });

  test(`${p.path}: entry point files named in ENTRYPOINT/CMD exist`, () => {
    const linkMap = links(p);
    const argv = ["ENTRYPOINT", "CMD"].flatMap((kw) => {
      const last = keyword(p, kw).at(-1);
      return last === undefined ? [] : execForm(last) ?? [];
    });
    const files = argv.filter((a) => /^(src|plugins)\//.test(a) || /\.(ts|mts|js|mjs)$/.test(a));
    assert.ok(files.length > 0, `${p.path}: no entry point file in ENTRYPOINT/CMD`);
    for (const file of files) {
      let rel = normalize(expand(file, p.args));
      for (const [link, target] of linkMap) {
        if (rel.startsWith(link + "/")) rel = join(target, relative(link, rel));
      }
      assert.ok(
        existsSync(join(ROOT, rel)),
        `${p.path}: ENTRYPOINT/CMD names ${file} (${rel} in the repo), which does not exist`,
      );
    }
  });

  test(`${p.path}: its .dockerignore lets every copied path through`, () => {
    const ignorePath = `${p.path}.dockerignore`;
    assert.ok(existsSync(join(ROOT, ignorePath)), `${ignorePath} is missing`);
    const lines = read(ignorePath).split("\n").map((l) => l.trim()).filter((l) =>
      l !== "" && !l.startsWith("#")
    );
    if (lines[0] !== "*") return;
    const allowed = new Set(lines.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, "")));
    for (const copy of p.df.getCOPYs()) {
      if (copy.getFromFlag() !== null) continue;
      for (const arg of copy.getArguments().slice(0, -1)) {
        const top = expand(arg.getValue(), p.args).split("/")[0] ?? "";
        assert.ok(allowed.has(top), `${ignorePath} excludes "${top}", which ${p.path} copies`);
      }
    }
  });

  if (p.path.includes(".deno.")) {
    test(`${p.path}: Deno runs with explicit permissions, never -A`, () => {
      const last = keyword(p, "ENTRYPOINT").at(-1);
      assert.ok(last !== undefined, `${p.path} needs ENTRYPOINT`);
      const entry = execForm(last) ?? [];
      assert.ok(entry.includes("--allow-net"), `${p.path}: deno run lacks --allow-net`);
      assert.ok(
        !entry.some((a) => a === "-A" || a === "--allow-all"),
        `${p.path}: deno run grants all permissions`,
      );
    });
  }
}

function loadCompose(): Json {
  return asRecord(parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }), "compose.yaml");
}

function services(): [string, Json][] {
  return Object.entries(asRecord(loadCompose()["services"], "services")).map(([n, s]) => [n, asRecord(s, n)]);
}

test("docker/compose.yaml parses as YAML with services", () => {
  assert.ok(services().length > 0);
});

test("docker/compose.yaml: every build context, Dockerfile and PLUGIN folder exists", () => {
  for (const [name, svc] of services()) {
    if (svc["build"] === undefined) continue;
    const build = asRecord(svc["build"], `${name}.build`);
    const context = resolve(DOCKER, String(build["context"] ?? "."));
    assert.ok(
      existsSync(context) && statSync(context).isDirectory(),
      `${name}: build.context ${context} is missing`,
    );
    const dockerfile = join(context, String(build["dockerfile"] ?? "Dockerfile"));
    assert.ok(existsSync(dockerfile), `${name}: build.dockerfile ${dockerfile} is missing`);
    const plugin = asRecord(build["args"] ?? {}, `${name}.build.args`)["PLUGIN"];
    if (plugin !== undefined) {
      const mod = join(context, "plugins", String(plugin), "mod.ts");
      assert.ok(
        existsSync(mod),
        `${name}: build arg PLUGIN=${String(plugin)} but ${relative(ROOT, mod)} does not exist`,
      );
    }
  }
});

test("docker/compose.yaml: every image is pinned, never latest", () => {
  for (const [name, svc] of services()) {
    if (svc["image"] !== undefined) assertPinned(String(svc["image"]), `compose service ${name}`);
  }
});

test("docker/compose.yaml: the NATS nodes form one cluster with routes to each other", () => {
  const nodes = services().filter(([, s]) => String(s["image"] ?? "").startsWith("nats:"));
  const names = nodes.map(([n]) => n);
  const clusterNames = new Set<string>();
  for (const [name, svc] of nodes) {
    const argv = (svc["command"] as unknown[] | undefined ?? []).map(String);
    const flag = (f: string): string => argv[argv.indexOf(f) + 1] ?? "";
    assert.ok(argv.includes("--cluster_name") && argv.includes("--cluster"), `${name}: cluster flags`);
    clusterNames.add(flag("--cluster_name"));
    for (const other of names.filter((n) => n !== name)) {
      assert.ok(flag("--routes").includes(`//${other}:6222`), `${name}: --routes lacks ${other}`);
    }
    assert.equal(flag("-m"), "8222", `${name}: monitoring port`);
    assert.match(JSON.stringify(asRecord(svc["healthcheck"], `${name}.healthcheck`)["test"]), /\/healthz/);
  }
  assert.equal(clusterNames.size, 1, "every node names the same cluster");
});

test("docker/compose.yaml: router and plugins wait for healthy NATS nodes, and can scale", () => {
  const all = new Map(services());
  const natsNodes = [...all.keys()].filter((n) => String(all.get(n)?.["image"] ?? "").startsWith("nats:"));
  assert.ok(natsNodes.length >= 3, "a 3-node NATS cluster");
  for (const [name, svc] of all) {
    if (svc["build"] === undefined) continue;
    const deps = asRecord(svc["depends_on"], `${name}.depends_on`);
    for (const node of natsNodes) {
      assert.equal(
        asRecord(deps[node], `${name}.depends_on.${node}`)["condition"],
        "service_healthy",
        `${name} → ${node}`,
      );
    }
    for (const dep of Object.keys(deps)) {
      const target = all.get(dep);
      assert.ok(target !== undefined, `${name} depends on unknown service ${dep}`);
      assert.ok(
        target["healthcheck"] !== undefined || target["build"] !== undefined,
        `${dep} has no healthcheck`,
      );
    }
    const env = asRecord(svc["environment"], `${name}.environment`);
    const urls = String(env["NATS_URL"] ?? "");
    for (const node of natsNodes) assert.ok(urls.includes(`//${node}:`), `${name}: NATS_URL lacks ${node}`);
    const replicas = asRecord(svc["deploy"] ?? {}, `${name}.deploy`)["replicas"];
    if (typeof replicas === "number" && replicas > 1) {
      assert.equal(svc["container_name"], undefined, `${name}: container_name prevents --scale`);
      assert.equal(svc["ports"], undefined, `${name}: published ports prevent --scale`);
    }
  }
  assert.ok(
    Number(asRecord(all.get("hello")?.["deploy"] ?? {}, "hello.deploy")["replicas"]) >= 3,
    "hello has 3 replicas",
  );
});

test("docker/k8s: manifests parse and every image is pinned", () => {
  const dir = join(DOCKER, "k8s");
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      assert.deepEqual(doc.errors, [], `docker/k8s/${file}`);
      const text = JSON.stringify(doc.toJS());
      for (const m of text.matchAll(/"image":"([^"]+)"/g)) assertPinned(m[1] ?? "", `docker/k8s/${file}`);
    }
  }
});

test("README.md and docs/scale-out.md name only docker files that exist", () => {
  for (const doc of ["README.md", "docs/scale-out.md"]) {
    if (!existsSync(join(ROOT, doc))) continue;
    for (const m of read(doc).matchAll(/(?<![\w./-])docker\/[\w.\/*<>-]+/g)) {
      const path = m[0].replace(/[.\/]+$/, "");
      if (path.includes("*") || path.includes("<")) continue;
      assert.ok(existsSync(join(ROOT, path)), `${doc} names ${path}, which does not exist`);
    }
  }
});
