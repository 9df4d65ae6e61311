import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "@llem/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  lockedPackages,
  npmProject,
  type PackedPackage,
  packAll,
  packedManifest,
  publishedPackages,
  REPO,
  userEnv,
} from "./npm-project.js";

/**
 * Each published package, packed as it is released and installed with plain npm into an empty
 * project, works there on its own: what a user gets from `npm install @llem/manifest` or
 * `npx llem`. Needs the packages built (`pnpm build`; `pnpm check` builds first) and the npm
 * registry for their third-party dependencies. The tarballs are packed once per run of this file.
 */

const PUBLISHED = ["@llem/backends", "@llem/manifest", "@llem/schema", "@llem/study", "llem"];
const SLOW = 300_000; // npm on a loaded machine and a cold cache; nothing here asserts a time

const work = mkdtempSync(join(tmpdir(), "llem-packaging-"));
let packs: Map<string, PackedPackage>;

function tarball(name: string): string {
  const packed = packs.get(name);
  if (!packed) throw new Error(`${name} was not packed`);
  return packed.tarball;
}

beforeAll(() => {
  for (const { name, dir } of publishedPackages()) {
    if (!existsSync(join(dir, "dist"))) {
      throw new Error(`${name} is not built (no ${dir}/dist): run \`pnpm build\` first`);
    }
  }
  packs = packAll(join(work, "packs"));
}, SLOW);

afterAll(async () => {
  if (process.env.LLEM_KEEP_TMP !== "1") await rm(work, { recursive: true, force: true });
});

describe("the packed tarballs", () => {
  it("are every package not marked private, released at one version", () => {
    expect([...packs.keys()].sort()).toEqual(PUBLISHED);
    const versions = new Set([...packs.values()].map((packed) => packed.version));
    expect(versions.size, "a changesets fixed group keeps them at one version").toBe(1);
  });

  it("carry no workspace: range; each @llem dependency is the released version", () => {
    for (const { name, version, tarball } of packs.values()) {
      const manifest = packedManifest(tarball);
      const ranges = {
        ...manifest.dependencies,
        ...manifest.optionalDependencies,
        ...manifest.peerDependencies,
      };
      for (const [dependency, range] of Object.entries(ranges)) {
        expect(range, `${name} → ${dependency}`).not.toMatch(/^workspace:/);
        if (dependency.startsWith("@llem/"))
          expect(range, `${name} → ${dependency}`).toBe(`^${version}`);
      }
    }
  });

  it("pin node-llama-cpp to the version its pnpm patch is for", () => {
    const backends = packedManifest(tarball("@llem/backends"));
    const pinned = backends.optionalDependencies?.["node-llama-cpp"];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/); // exact, not a range
    expect(backends.dependencies?.["node-llama-cpp"]).toBeUndefined();
    const workspace = readFileSync(join(REPO, "pnpm-workspace.yaml"), "utf8");
    expect(workspace).toContain(`node-llama-cpp@${pinned}: patches/node-llama-cpp@${pinned}.patch`);
    expect(existsSync(join(REPO, `patches/node-llama-cpp@${pinned}.patch`))).toBe(true);
  });
});

describe("@llem/manifest with only @llem/schema, from npm", { timeout: SLOW }, () => {
  const project = join(work, "manifest-only");

  beforeAll(async () => {
    await npmProject(
      project,
      [tarball("@llem/schema"), tarball("@llem/manifest")],
      ["--omit=optional"],
    );
  }, SLOW);

  it("installs those two from their tarballs and no other llem package", () => {
    const locked = lockedPackages(project);
    const llem = Object.keys(locked).filter((path) => path.startsWith("node_modules/@llem/"));
    expect(llem.sort()).toEqual(["node_modules/@llem/manifest", "node_modules/@llem/schema"]);
    for (const path of llem) expect(locked[path]?.resolved, path).toMatch(/^file:.*\.tgz$/);
  });

  it("creates a manifest, marks runs, closes, reopens under the lock and reads it back", async () => {
    await writeFile(join(project, "manifest.mjs"), MANIFEST_SCRIPT);
    const outcome = await runProcess(process.execPath, ["manifest.mjs", "study"], {
      cwd: project,
      env: userEnv(),
      timeoutMs: SLOW,
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({
      // what close() left on disk after one completed and one failed run
      onDisk: ["completed", "failed", "pending"],
      // a second writer is refused while the reopened store holds the lock
      second: "MANIFEST_LOCKED",
      // reopening puts the failed run back to pending; the completed one is never offered
      remaining: ["0f1e2d3c4b5a6978/c1:pending", "0f1e2d3c4b5a6978/c2:pending"],
      // read back, lock-free, after the reopened store completed one more
      readBack: [
        "completed:experiments/a/result.json",
        "pending:null",
        "completed:experiments/b2/result.json",
      ],
    });
  });
});

/** Plain Node, plain ESM, only @llem/manifest and @llem/schema: the README's usage, in brief. */
const MANIFEST_SCRIPT = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_FILE_NAME, ManifestStore, readManifest } from "@llem/manifest";
import { LlemError } from "@llem/schema";

const dir = process.argv[2];
const [a, b] = ["a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"];
const store = await ManifestStore.create(dir, {
  studyName: "from-npm",
  studyYamlPath: "study.yaml",
  studyYamlHash: "f".repeat(64),
  runs: [
    { configHash: a, configSummary: "config a", cycle: 1 },
    { configHash: b, configSummary: "config b", cycle: 1 },
    { configHash: b, configSummary: "config b", cycle: 2 },
  ],
});
await store.markRunning(a, 1);
await store.markCompleted(a, 1, "experiments/a/result.json");
await store.markRunning(b, 1);
await store.markFailed(b, 1, { errorType: "Boom", errorMessage: "it broke" });
await store.close();
const onDisk = JSON.parse(readFileSync(join(dir, MANIFEST_FILE_NAME), "utf8"));

const reopened = await ManifestStore.open(dir);
let second;
try {
  await ManifestStore.open(dir);
  second = "opened";
} catch (error) {
  second = LlemError.hasCode(error, "MANIFEST_LOCKED") ? "MANIFEST_LOCKED" : String(error);
}
const remaining = reopened.remaining().map((entry) => entry.config_hash + "/c" + entry.cycle + ":" + entry.status);
await reopened.markRunning(b, 2);
await reopened.markCompleted(b, 2, "experiments/b2/result.json");
await reopened.close();
const readBack = await readManifest(dir);
console.log(JSON.stringify({
  onDisk: onDisk.experiments.map((entry) => entry.status),
  second,
  remaining,
  readBack: readBack.experiments.map((entry) => entry.status + ":" + entry.result_file),
}));
`;

describe("the llem command from npm, without optional dependencies", { timeout: SLOW }, () => {
  const project = join(work, "cli");
  const llem = (args: string[]) =>
    runProcess(join(project, "node_modules/.bin/llem"), args, {
      cwd: project,
      env: userEnv(),
      timeoutMs: SLOW,
    });

  beforeAll(async () => {
    await npmProject(project, PUBLISHED.map(tarball), ["--omit=optional"]);
    await writeFile(join(project, "study.yaml"), readmeStudy());
    await writeFile(
      join(project, "bad.yaml"),
      "study_name: bad\ntask:\n  max_output_tokens: lots\n",
    );
    await writeFile(
      join(project, "one-run.yaml"),
      "study_name: one-run\ntask:\n  model: synthetic:tiny\n  dataset: { source: builtin:short, n_prompts: 2 }\n  max_output_tokens: 8\nengine: llamacpp\n",
    );
  }, SLOW);

  it("leaves koffi and node-llama-cpp out: they are optional dependencies", () => {
    const locked = lockedPackages(project);
    expect(locked["node_modules/@llem/backends"]?.resolved).toMatch(/^file:/);
    expect(existsSync(join(project, "node_modules/node-llama-cpp"))).toBe(false);
    expect(existsSync(join(project, "node_modules/koffi"))).toBe(false);
    expect(existsSync(join(project, "node_modules/yaml"))).toBe(true); // @llem/study's
  });

  it("prints help, and the version of the packages it was installed with", async () => {
    const help = await llem(["--help"]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: llem <command>");
    const version = await llem(["--version"]);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(`llem ${packedManifest(tarball("llem")).version}`);
  });

  it("validates the README's study, and names the field of a bad one (exit 2)", async () => {
    const valid = await llem(["validate", "study.yaml"]);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(
      /study\.yaml: valid — study "first": 4 configs × 2 cycles = 8 runs/,
    );
    const bad = await llem(["validate", "bad.yaml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml/);
    expect(bad.stderr).toMatch(/task\.max_output_tokens: expected number, got "lots"/);
    expect(bad.stderr).not.toMatch(/^\s+at /m); // one message, no stack trace
  });

  it("plans a llamacpp study with --dry-run; only running one names node-llama-cpp", async () => {
    const plan = await llem(["run", "study.yaml", "--dry-run"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("Dry run: nothing was run.");
    expect(plan.stdout + plan.stderr).not.toContain("node-llama-cpp");

    const run = await llem(["run", "one-run.yaml"]);
    expect(run.code).toBe(1);
    const pinned = packedManifest(tarball("@llem/backends")).optionalDependencies?.[
      "node-llama-cpp"
    ];
    expect(run.stdout + run.stderr).toContain(
      `ENGINE_UNAVAILABLE: engine llamacpp needs node-llama-cpp, which is not installed (an optional dependency of @llem/backends, left out by --omit=optional or --no-optional): install it with \`npm install node-llama-cpp@${pinned}\``,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("a default npm install of @llem/backends", { timeout: SLOW }, () => {
  it("resolves node-llama-cpp (pinned, with its prebuilt CPU binary) and koffi", async () => {
    // The lock file alone (registry metadata, no downloads): node-llama-cpp and its binaries
    // are hundreds of MB, but what npm would install is what it resolves here.
    const project = join(work, "default-install");
    await npmProject(
      project,
      [tarball("@llem/schema"), tarball("@llem/manifest"), tarball("@llem/backends")],
      ["--package-lock-only"],
    );
    const locked = lockedPackages(project);
    const pinned = packedManifest(tarball("@llem/backends")).optionalDependencies?.[
      "node-llama-cpp"
    ];
    expect(locked["node_modules/node-llama-cpp"]).toMatchObject({
      version: pinned,
      optional: true,
    });
    expect(locked["node_modules/koffi"]).toMatchObject({ optional: true });
    if (process.platform === "linux" && process.arch === "x64") {
      expect(locked["node_modules/@node-llama-cpp/linux-x64"]).toMatchObject({ version: pinned });
    }
  });
});

/** The first YAML block of the CLI's README: the study it tells a newcomer to write. */
function readmeStudy(): string {
  const readme = readFileSync(join(REPO, "apps/cli/README.md"), "utf8");
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("apps/cli/README.md has no ```yaml block");
  return block;
}
