import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LLEM_VERSION } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { llamaCppSourceCommit, llamaCppVersion } from "../engines/llamacpp/node-llama-cpp.js";
import { checkoutRoot, llemVersion } from "./llem-version.js";

const here = fileURLToPath(import.meta.url);

describe("provenance", () => {
  it("llem's version carries this checkout's commit and whether it is dirty", () => {
    const root = checkoutRoot(here);
    expect(root).not.toBeNull();
    const head = execFileSync("git", ["-C", root!, "rev-parse", "HEAD"], { encoding: "utf8" });
    const dirty =
      execFileSync("git", ["-C", root!, "status", "--porcelain", "--untracked-files=no"], {
        encoding: "utf8",
      }).trim() !== "";
    expect(llemVersion()).toBe(`${LLEM_VERSION}+git.${head.slice(0, 12)}${dirty ? ".dirty" : ""}`);
  });

  it("an install (under node_modules) is not a checkout, even inside someone's repository", () => {
    expect(
      checkoutRoot(
        join(checkoutRoot(here)!, "node_modules", "@llem", "backends", "dist", "index.js"),
      ),
    ).toBeNull();
  });

  it("llama.cpp's version is its own: the source commit, not node-llama-cpp's release tag", () => {
    const commit = llamaCppSourceCommit();
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    const release = { repo: "ggml-org/llama.cpp", release: "v0.5.0" };
    expect(llamaCppVersion(release, commit)).toBe(`ggml-org/llama.cpp@${commit!.slice(0, 12)}`);
    expect(llamaCppVersion({ ...release, release: "b6855" }, commit)).toBe(
      "ggml-org/llama.cpp@b6855",
    );
  });
});
