import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { forbidImportsArgs } from "@llem/test-utils";
import { describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs `source` as an ES module inside this package (so `@llem/schema…` self-resolves to dist). */
function runWithoutZod(source: string): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(
    process.execPath,
    [...forbidImportsArgs(["zod"]), "--input-type=module", "--eval", source],
    { cwd: packageDir, encoding: "utf8" },
  );
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe("@llem/schema/errors (built dist)", { timeout: 30_000 }, () => {
  it("gives LlemError and its helpers without loading zod", () => {
    const child = runWithoutZod(`
      import { LlemError } from "@llem/schema/errors";
      const error = new LlemError("USAGE", "bad flag");
      console.log(JSON.stringify({
        code: error.code,
        isInstance: LlemError.isInstance(error),
        hasCode: LlemError.hasCode(error, "USAGE"),
      }));
    `);
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      code: "USAGE",
      isInstance: true,
      hasCode: true,
    });
  });

  it("is the same class as the main entry's (one implementation, one chunk)", async () => {
    const main = await import("@llem/schema");
    const errors = await import("@llem/schema/errors");
    expect(errors.LlemError).toBe(main.LlemError);
    expect(new errors.LlemError("INTERNAL", "x")).toBeInstanceOf(main.LlemError);
  });

  // Control: the hook does refuse zod, so the first test would fail if the entry loaded it.
  it("control: the main entry, which needs zod, fails under the same hook", () => {
    const child = runWithoutZod(`import "@llem/schema";`);
    expect(child.status).not.toBe(0);
    expect(child.stderr).toMatch(/forbidden import of zod: "zod" from .*\/dist\/index\.js/);
  });
});
