import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LLAMACPP_PROCESS_ENV, llamaCppProcessEnv, parseThreadpoolSize } from "./process-env.js";

describe("llamaCppProcessEnv", () => {
  it("adds a one-thread libuv pool to the given env and keeps everything else", () => {
    const env = llamaCppProcessEnv({ PATH: "/bin", LLEM_CACHE_DIR: "/tmp/x" });
    expect(env).toEqual({ PATH: "/bin", LLEM_CACHE_DIR: "/tmp/x", UV_THREADPOOL_SIZE: "1" });
    expect(LLAMACPP_PROCESS_ENV).toEqual({ UV_THREADPOOL_SIZE: "1" });
  });

  it("keeps a pool size the caller chose", () => {
    expect(llamaCppProcessEnv({ UV_THREADPOOL_SIZE: "8" }).UV_THREADPOOL_SIZE).toBe("8");
  });

  it("does not modify the env it is given", () => {
    const base = { PATH: "/bin" };
    llamaCppProcessEnv(base);
    expect(base).toEqual({ PATH: "/bin" });
  });

  it("is what a child process started with it sees", () => {
    const child = spawnSync(
      process.execPath,
      ["-e", "process.stdout.write(String(process.env.UV_THREADPOOL_SIZE))"],
      { env: llamaCppProcessEnv({ PATH: process.env.PATH }), encoding: "utf8" },
    );
    expect(child.stdout).toBe("1");
  });
});

describe("parseThreadpoolSize follows libuv", () => {
  it.each([
    [undefined, 4],
    ["1", 1],
    ["2", 2],
    [" 16", 16],
    ["0", 1],
    ["abc", 1],
    ["3abc", 3],
    ["5000", 1024],
    ["-2", 1024],
  ])("%s → %i", (value, size) => {
    expect(parseThreadpoolSize(value)).toBe(size);
  });
});
