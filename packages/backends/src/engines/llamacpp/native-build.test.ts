import { spawn } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { exited, tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  ensureNativeBuild,
  linkedNativeBuild,
  nativeBuildInputs,
  nativeBuildKey,
  nativeBuildMismatch,
  nativeBuildsDir,
  type Toolchain,
  unlinkNativeBuild,
} from "./native-build.js";
import { setupLlamaCpp } from "./setup.js";

const toolchain: Toolchain = {
  ok: true,
  reason: "",
  compiler: "c++ (test) 12.2.0",
  cmake: "cmake version 3.25.1",
};

/** A node-llama-cpp package folder with what the key and the build look at. */
function fakeNodeLlamaCpp(
  root: string,
  { version = "3.22.1", addon = "// addon v1" } = {},
): string {
  const dir = join(root, "node_modules", "node-llama-cpp");
  mkdirSync(join(dir, "llama", "addon"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "node-llama-cpp", version }));
  writeFileSync(
    join(dir, "llama", "llama.cpp.info.json"),
    JSON.stringify({ tag: "v0.5.0", llamaCppGithubRepo: "ggml-org/llama.cpp" }),
  );
  writeFileSync(join(dir, "llama", "CMakeLists.txt"), "project(llama-addon)\n");
  writeFileSync(join(dir, "llama", "gitRelease.bundle"), "bundle bytes");
  writeFileSync(join(dir, "llama", "addon", "LlemGenerate.cpp"), addon);
  return dir;
}

/** Stands in for node-llama-cpp's compile: writes what it leaves behind (Release/, the clone, lastBuild.json). */
function fakeCompile(counter: { calls: number }, delayMs = 0) {
  return async (nodeLlamaCppDir: string): Promise<string> => {
    counter.calls++;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const folder = join(nodeLlamaCppDir, "llama", "localBuilds", "linux-x64");
    mkdirSync(join(folder, "Release"), { recursive: true });
    mkdirSync(join(folder, "CMakeFiles"), { recursive: true });
    writeFileSync(join(folder, "Release", "llama-addon.node"), "binary");
    writeFileSync(join(folder, "Release", "libllama.so"), "library");
    mkdirSync(join(nodeLlamaCppDir, "llama", "llama.cpp", ".git"), { recursive: true });
    writeFileSync(
      join(nodeLlamaCppDir, "llama", "lastBuild.json"),
      JSON.stringify({ folderName: "linux-x64" }),
    );
    return "linux-x64";
  };
}

const quiet = () => undefined;

describe("native build key", () => {
  it("is stable for the same inputs and changes with the patch, the version and the compiler", async () => {
    const root = await tempDir();
    const dir = fakeNodeLlamaCpp(join(root, "a"));
    const key = nativeBuildKey(nativeBuildInputs(dir, toolchain));
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(nativeBuildKey(nativeBuildInputs(fakeNodeLlamaCpp(join(root, "b")), toolchain))).toBe(
      key,
    );
    const patched = fakeNodeLlamaCpp(join(root, "c"), { addon: "// addon v2" });
    expect(nativeBuildKey(nativeBuildInputs(patched, toolchain))).not.toBe(key);
    const upgraded = fakeNodeLlamaCpp(join(root, "d"), { version: "3.23.0" });
    expect(nativeBuildKey(nativeBuildInputs(upgraded, toolchain))).not.toBe(key);
    const otherCompiler = { ...toolchain, compiler: "clang version 16" };
    expect(nativeBuildKey(nativeBuildInputs(dir, otherCompiler))).not.toBe(key);
  });
});

describe("ensureNativeBuild", () => {
  it("compiles once per machine: a second clone links the cached build without compiling", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const counter = { calls: 0 };
    const first = fakeNodeLlamaCpp(join(root, "clone1"));
    const built = await ensureNativeBuild({
      nodeLlamaCppDir: first,
      cacheDir,
      toolchain,
      progress: quiet,
      compile: fakeCompile(counter),
    });
    expect(built.source).toBe("built");
    expect(counter.calls).toBe(1);
    const entry = join(nativeBuildsDir(cacheDir), built.record.key);
    expect(readFileSync(join(entry, "Release", "llama-addon.node"), "utf8")).toBe("binary");
    // The clone keeps a link, not the build tree or the source checkout.
    const link = join(first, "llama", "localBuilds", "linux-x64");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(entry));
    expect(existsSync(join(first, "llama", "llama.cpp"))).toBe(false);
    expect(JSON.parse(readFileSync(join(first, "llama", "lastBuild.json"), "utf8"))).toEqual({
      folderName: "linux-x64",
    });

    const second = fakeNodeLlamaCpp(join(root, "clone2"));
    const reused = await ensureNativeBuild({
      nodeLlamaCppDir: second,
      cacheDir,
      toolchain,
      progress: quiet,
      compile: fakeCompile(counter),
    });
    expect(reused.source).toBe("cached");
    expect(counter.calls).toBe(1);
    expect(linkedNativeBuild(second)?.key).toBe(built.record.key);
    expect(
      readFileSync(
        join(second, "llama", "localBuilds", "linux-x64", "Release", "llama-addon.node"),
        "utf8",
      ),
    ).toBe("binary");
  });

  it("builds once when two installs ask at the same time; the other waits and links", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const counter = { calls: 0 };
    const waits: string[] = [];
    const [a, b] = await Promise.all(
      ["x", "y"].map((name) =>
        ensureNativeBuild({
          nodeLlamaCppDir: fakeNodeLlamaCpp(join(root, name)),
          cacheDir,
          toolchain,
          progress: (line) => waits.push(line),
          compile: fakeCompile(counter, 1500),
        }),
      ),
    );
    expect(counter.calls).toBe(1);
    expect([a?.source, b?.source].sort()).toEqual(["built", "cached"]);
    expect(waits.some((line) => line.startsWith("waiting for pid"))).toBe(true);
  });

  it("takes over a lock left by a killed install", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const dir = fakeNodeLlamaCpp(join(root, "clone"));
    const key = nativeBuildKey(nativeBuildInputs(dir, toolchain));
    const dead = spawn(process.execPath, ["-e", "0"]);
    await exited(dead);
    const lock = join(nativeBuildsDir(cacheDir), `${key}.lock`);
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, "owner.json"), JSON.stringify({ pid: dead.pid, host: hostname() }));
    const counter = { calls: 0 };
    const outcome = await ensureNativeBuild({
      nodeLlamaCppDir: dir,
      cacheDir,
      toolchain,
      progress: quiet,
      compile: fakeCompile(counter),
    });
    expect(outcome.source).toBe("built");
    expect(existsSync(lock)).toBe(false);
  });

  it("leaves nothing under the key and no link when the compile fails", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const dir = fakeNodeLlamaCpp(join(root, "clone"));
    await expect(
      ensureNativeBuild({
        nodeLlamaCppDir: dir,
        cacheDir,
        toolchain,
        progress: quiet,
        compile: async () => {
          throw new Error("compiler crashed");
        },
      }),
    ).rejects.toThrow("compiler crashed");
    const key = nativeBuildKey(nativeBuildInputs(dir, toolchain));
    expect(existsSync(join(nativeBuildsDir(cacheDir), key))).toBe(false);
    expect(linkedNativeBuild(dir)).toBeNull();
  });

  it("refuses a linked build made for another CPU (a home directory shared across machines)", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const dir = fakeNodeLlamaCpp(join(root, "clone"));
    const { record } = await ensureNativeBuild({
      nodeLlamaCppDir: dir,
      cacheDir,
      toolchain,
      progress: quiet,
      compile: fakeCompile({ calls: 0 }),
    });
    expect(nativeBuildMismatch(dir)).toBeNull();
    const recordFile = join(nativeBuildsDir(cacheDir), record.key, "llem-build.json");
    const other = {
      ...record,
      inputs: { ...record.inputs, cpu: "Other CPU", cpu_flags_sha256: "0".repeat(64) },
    };
    writeFileSync(recordFile, JSON.stringify(other));
    expect(nativeBuildMismatch(dir)).toMatch(/compiled for another CPU \(Other CPU\)/);
  });
});

describe("unlinkNativeBuild", () => {
  it("removes llem's link and leaves a local build it did not make alone", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const dir = fakeNodeLlamaCpp(join(root, "clone"));
    await ensureNativeBuild({
      nodeLlamaCppDir: dir,
      cacheDir,
      toolchain,
      progress: quiet,
      compile: fakeCompile({ calls: 0 }),
    });
    // A user's own node-llama-cpp build (say with CUDA) is a real folder, not a link into the cache.
    const own = join(dir, "llama", "localBuilds", "linux-x64-cuda", "Release");
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, "llama-addon.node"), "users own");
    expect(unlinkNativeBuild(dir)).toBe(true);
    expect(linkedNativeBuild(dir)).toBeNull();
    expect(existsSync(join(dir, "llama", "localBuilds", "linux-x64"))).toBe(false);
    expect(readFileSync(join(own, "llama-addon.node"), "utf8")).toBe("users own");
    expect(unlinkNativeBuild(dir)).toBe(false);
  });
});

describe("setupLlamaCpp", () => {
  it("records why the prebuilt binary runs: no toolchain, LLEM_NATIVE_BUILD=0, or a build that did not load", async () => {
    const root = await tempDir();
    const cacheDir = join(root, "cache");
    const dir = fakeNodeLlamaCpp(join(root, "clone"));
    const env = { LLEM_GPU_BINARIES: "none" };
    const missing = { ok: false, reason: "no cmake on PATH", compiler: "", cmake: "" };
    const none = await setupLlamaCpp({
      env,
      cacheDir,
      nodeLlamaCppDir: dir,
      toolchain: missing,
      log: quiet,
    });
    expect(none.failed).toBe(false);
    expect(none.record?.native).toEqual({
      status: "unavailable",
      reason: "no cmake on PATH",
      key: null,
    });
    // Asked for explicitly, it fails the install.
    const forced = await setupLlamaCpp({
      env,
      cacheDir,
      nodeLlamaCppDir: dir,
      toolchain: missing,
      force: true,
      log: quiet,
    });
    expect(forced.failed).toBe(true);

    const counter = { calls: 0 };
    const built = await setupLlamaCpp({
      env,
      cacheDir,
      nodeLlamaCppDir: dir,
      toolchain,
      compile: fakeCompile(counter),
      log: quiet,
      verify: () => ({ kind: "native build", detail: "" }),
    });
    expect(built.record?.native.status).toBe("built");
    expect(linkedNativeBuild(dir)).not.toBeNull();

    const off = await setupLlamaCpp({
      env: { ...env, LLEM_NATIVE_BUILD: "0" },
      cacheDir,
      nodeLlamaCppDir: dir,
      toolchain,
      log: quiet,
    });
    expect(off.record?.native.status).toBe("skipped");
    expect(linkedNativeBuild(dir)).toBeNull();

    const broken = await setupLlamaCpp({
      env,
      cacheDir,
      nodeLlamaCppDir: dir,
      toolchain,
      compile: fakeCompile(counter),
      log: quiet,
      verify: () => ({ kind: "prebuilt", detail: "fell back" }),
    });
    expect(broken.record?.native.status).toBe("failed");
    expect(broken.record?.native.reason).toMatch(/did not load \(fell back\)/);
    expect(linkedNativeBuild(dir)).toBeNull();
    expect(counter.calls).toBe(1);
    const written = JSON.parse(readFileSync(join(dir, "llama", "llem-setup.json"), "utf8"));
    expect(written.native.status).toBe("failed");
  });
});
