import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ExperimentConfigInput, LlemError } from "@llem/schema";
import { FAULT_SERVER, llamaServerBinary, llamaServerSkipReason, tempDir } from "@llem/test-utils";
import { beforeAll, describe, expect, it } from "vitest";
import { runExperiment } from "../src/index.js";

const skip = llamaServerSkipReason();

/** A llama-server experiment whose server is the fault server with these fault arguments. */
function faulty(
  fault: string[],
  extra: Partial<ExperimentConfigInput> = {},
): ExperimentConfigInput {
  return {
    engine: "llama-server",
    task: { model: "synthetic:tiny", max_output_tokens: 12, dataset: { n_prompts: 6 } },
    "llama-server": { binary: FAULT_SERVER, extra_args: fault, startup_timeout_s: 60 },
    workload: { mode: "concurrent", concurrency: 2 },
    measurement: {
      energy: { sampler: "none" },
      baseline: { enabled: false },
      warmup: { n_warmup: 1 },
    },
    ...extra,
  } as ExperimentConfigInput;
}

async function failure(config: ExperimentConfigInput, dir: string): Promise<LlemError> {
  try {
    await runExperiment(config, { outputDir: dir });
  } catch (error) {
    if (LlemError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("the experiment was expected to fail");
}

describe.skipIf(skip !== null)(
  `server faults, each a clear failure with the server's log ${skip ?? ""}`,
  { timeout: 120_000 },
  () => {
    beforeAll(() => {
      process.env.LLEM_STANDIN_LLAMA_SERVER = llamaServerBinary() ?? "";
    });

    it("a server that never becomes ready: SERVER_NOT_READY after startup_timeout_s", async () => {
      const dir = await tempDir();
      const config = faulty(["--llem-fault", "never-ready"]);
      (config["llama-server"] as Record<string, unknown>).startup_timeout_s = 2;
      const error = await failure(config, dir);
      expect(error.code).toBe("SERVER_NOT_READY");
      expect(error.message).toMatch(
        /not ready within startup_timeout_s 2 \(GET \/health never answered 200\)/,
      );
      expect(error.message).toContain("fault-server: fault never-ready");
      expect(JSON.parse(readFileSync(join(dir, "server.json"), "utf8")).stopped_how).toBe(
        "failed to start",
      );
    });

    it("a server that exits while it loads: SERVER_EXITED with its last lines", async () => {
      const error = await failure(faulty(["--llem-fault", "exit-at-start"]), await tempDir());
      expect(error.code).toBe("SERVER_EXITED");
      expect(error.message).toMatch(/server exited with code 1 before it was ready/);
      expect(error.message).toContain("the model could not be loaded (injected fault)");
    });

    it("a flag the real llama-server refuses: SERVER_EXITED quoting it", async () => {
      const config = faulty([]);
      (config["llama-server"] as Record<string, unknown>).binary = null;
      (config["llama-server"] as Record<string, unknown>).extra_args = ["--no-such-flag"];
      const error = await failure(config, await tempDir());
      expect(error.code).toBe("SERVER_EXITED");
      expect(error.message).toMatch(/--no-such-flag/);
    });

    it("a port taken before the server binds it: llem starts it again on another port", async () => {
      const dir = await tempDir();
      const marker = join(dir, "faulted-once");
      const result = await runExperiment(
        faulty(["--llem-fault", "port-taken", "--llem-fault-once", marker]),
        { outputDir: dir },
      );
      expect(existsSync(marker)).toBe(true);
      expect(result.engine_settings).toMatchObject({ server_start_attempts: 2 });
      expect(result.errors?.count).toBe(0);
      expect(readFileSync(join(dir, "engine.log"), "utf8")).toMatch(
        /couldn't bind HTTP server socket/,
      );
    });

    it("a server that crashes mid-window: SERVER_EXITED, every request still on record", async () => {
      const dir = await tempDir();
      const error = await failure(
        faulty(["--llem-fault", "crash", "--llem-fault-after", "2"]),
        dir,
      );
      expect(error.code).toBe("SERVER_EXITED");
      expect(error.message).toMatch(/server exited with code 3 during the measurement window/);
      expect(error.message).toContain("--- last lines of the server log ---");
      expect(readFileSync(join(dir, "engine.log"), "utf8")).toContain(
        "crashing mid-stream (injected fault)",
      );
      const lines = readFileSync(join(dir, "requests.jsonl"), "utf8").trim().split("\n");
      expect(lines).toHaveLength(6);
      expect(lines.some((line) => JSON.parse(line).status === "error")).toBe(true);
    });

    it.each([
      ["http-500", /HTTP 500: .*injected fault/, "answering 500 (injected fault)"],
      [
        "malformed",
        /malformed SSE event \(not JSON\): "\{this is not json"/,
        "sending a malformed event",
      ],
      ["cut", /stream cut/, "cutting the stream"],
    ])(
      "a %s response fails the run (REQUESTS_FAILED) with the log, requests.jsonl kept",
      async (fault, message, logged) => {
        const dir = await tempDir();
        const error = await failure(
          faulty(["--llem-fault", fault, "--llem-fault-after", "2"]),
          dir,
        );
        expect(error.code).toBe("REQUESTS_FAILED");
        expect(error.message).toMatch(
          /^1 of 6 requests failed \(1 error; workload.max_error_rate 0\); first: /,
        );
        expect(error.message).toMatch(message);
        expect(error.message).toContain("every request is in requests.jsonl");
        expect(error.message).toContain("--- last lines of the server log ---");
        expect(readFileSync(join(dir, "engine.log"), "utf8")).toContain(logged);
        expect(readFileSync(join(dir, "requests.jsonl"), "utf8").trim().split("\n")).toHaveLength(
          6,
        );
      },
    );

    it("within workload.max_error_rate, failures are counted and count against goodput", async () => {
      const config = faulty(["--llem-fault", "http-500", "--llem-fault-after", "2"], {
        workload: { mode: "concurrent", concurrency: 2, max_error_rate: 0.5 },
      });
      (config as { measurement: Record<string, unknown> }).measurement.slo = { e2e_ms: 60_000 };
      const result = await runExperiment(config, { outputDir: await tempDir() });
      expect(result.errors).toMatchObject({ count: 1, rate: 1 / 6, by_status: { error: 1 } });
      expect(result.goodput).toMatchObject({ requests_meeting_slo: 5, fraction: 5 / 6 });
      expect(result.latency.request_latency_ms?.count).toBe(5);
      expect(result.tokens.requests).toBe(6);
    });
  },
);
