import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type ExperimentConfigInput, parseExperimentConfig, RequestRecord } from "@llem/schema";
import {
  isProcessAlive,
  llamaServerBinary,
  llamaServerImage,
  llamaServerSkipReason,
  PODMAN_RUNTIME_ARGS,
  STAND_INS_BIN,
  tempDir,
} from "@llem/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEngine, runExperiment, type ServerRecord } from "../src/index.js";
import { HeldServer } from "../src/servers/held-server.js";

const skip = llamaServerSkipReason();
const quick = {
  task: { model: "synthetic:tiny", max_output_tokens: 12, dataset: { n_prompts: 6 } },
  measurement: {
    energy: { sampler: "estimate" },
    baseline: { enabled: false },
    warmup: { n_warmup: 1 },
  },
} satisfies ExperimentConfigInput;

function records(dir: string): RequestRecord[] {
  return readFileSync(join(dir, "requests.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => RequestRecord.parse(JSON.parse(line)));
}
function serverRecord(dir: string): ServerRecord {
  return JSON.parse(readFileSync(join(dir, "server.json"), "utf8")) as ServerRecord;
}

describe.skipIf(skip !== null)(
  `server engines through a real llama-server ${skip ?? ""}`,
  { timeout: 120_000 },
  () => {
    const savedPath = process.env.PATH;
    beforeAll(() => {
      process.env.LLEM_STANDIN_LLAMA_SERVER = llamaServerBinary() ?? "";
    });
    afterAll(() => {
      process.env.PATH = savedPath;
    });

    it("llama-server: a closed loop, every request on record, the server gone afterwards", async () => {
      const dir = await tempDir();
      // Outputs long enough that two requests overlap however loaded the machine is: a 12-token
      // request on the tiny model ends in ~5 ms, less than a busy machine may take to send the
      // second one, and then two are never generating at once (no steady state, CI on a loaded
      // machine). 256 tokens take ~100 ms at rest, and longer under load, as the server slows too.
      const outputTokens = 256;
      const result = await runExperiment(
        {
          ...quick,
          task: { ...quick.task, max_output_tokens: outputTokens },
          engine: "llama-server",
          workload: { mode: "concurrent", concurrency: 2 },
        },
        { outputDir: dir },
      );
      expect(result.engine).toBe("llama-server");
      expect(result.engine_version).toMatch(/^b\d+-[0-9a-f]+$/);
      // ignore_eos: every request generates exactly max_output_tokens, as the embedded engine does.
      expect(result.tokens).toMatchObject({ output: 6 * outputTokens, requests: 6 });
      expect(result.errors).toEqual({ count: 0, rate: 0, by_status: {}, first: null });
      expect(result.requests_file).toBe("requests.jsonl");
      expect(result.engine_settings).toMatchObject({
        api: "completions",
        server_fresh: true,
        server_slots: 2,
        runner: "local",
        request_extras: { cache_prompt: false, ignore_eos: true },
      });
      expect(
        (result.engine_settings as { server_startup_s: number }).server_startup_s,
      ).toBeGreaterThan(0);
      expect(result.steady_state, JSON.stringify(result.warnings)).toMatchObject({
        offered_concurrency: 2,
      });
      // The energy section reports the steady window's energy over the same span.
      const steady = result.steady_state as { start_s: number; end_s: number };
      expect(result.energy.steady_state).toMatchObject({
        from_ms: steady.start_s * 1000,
        to_ms: steady.end_s * 1000,
      });
      expect(result.energy.steady_state?.raw_j).toBeGreaterThan(0);
      const lines = records(dir);
      expect(lines).toHaveLength(6);
      expect(lines.every((line) => line.status === "ok" && line.token_source === "usage")).toBe(
        true,
      );
      expect(
        lines.every((line) => line.output_tokens === outputTokens && line.server_timings !== null),
      ).toBe(true);
      const record = serverRecord(dir);
      expect(record.stopped_how).toBe("stopped");
      expect(record.pid).not.toBeNull();
      expect(isProcessAlive(record.pid as number)).toBe(false);
      expect(readFileSync(join(dir, "engine.log"), "utf8")).toContain("llama_server");
    });

    it("llama-server: an open loop on chat, seeded poisson arrivals held to the concurrency cap", async () => {
      const dir = await tempDir();
      // At 100,000 req/s all six are due within a millisecond: with the cap at 2, four of them
      // must wait for a slot, however fast or slow the machine is.
      const result = await runExperiment(
        {
          ...quick,
          engine: "llama-server",
          workload: { mode: "rate", request_rate: 100_000, max_concurrency: 2, api: "chat" },
        },
        { outputDir: dir },
      );
      expect(result.engine_settings).toMatchObject({ api: "chat", server_slots: 2 });
      expect(result.latency.send_lag_ms?.count).toBe(6);
      const lines = records(dir);
      expect(lines.every((line) => line.status === "ok")).toBe(true);
      expect(Math.max(...lines.map((line) => line.scheduled_ms))).toBeLessThan(
        Math.min(...lines.map((line) => line.end_ms)),
      );
      // Never more than 2 in flight (a sweep over sends and ends; at one instant an end first).
      const events: [number, number][] = lines.flatMap((line) => [
        [line.sent_ms, 1] as [number, number],
        [line.end_ms, -1] as [number, number],
      ]);
      events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let inFlight = 0;
      let most = 0;
      for (const [, step] of events) {
        inFlight += step;
        most = Math.max(most, inFlight);
      }
      expect(most).toBe(2);
      // The four that waited were sent once a slot freed, and their lag says so.
      const firstEnd = Math.min(...lines.map((line) => line.end_ms));
      const waited = lines.filter((line) => line.sent_ms >= firstEnd);
      expect(waited).toHaveLength(4);
      for (const line of waited) expect(line.send_lag_ms).toBeGreaterThan(line.sent_ms - firstEnd);
    });

    it("reuse_servers: a server handed over is adopted only when it is the same, healthy, for the same key", async () => {
      const root = await tempDir();
      const recordFile = join(root, "servers", "k1", "server.json");
      await mkdir(join(root, "a"));
      await mkdir(join(root, "b"));
      const config = {
        ...quick,
        engine: "llama-server",
        "llama-server": { n_parallel: 2 },
        workload: { mode: "concurrent", concurrency: 2 },
      } satisfies ExperimentConfigInput;
      const first = await runExperiment(config, {
        outputDir: join(root, "a"),
        serverReuse: { key: "k1", recordFile, keep: true },
      });
      expect(first.engine_settings).toMatchObject({ server_fresh: true });
      const shared = JSON.parse(readFileSync(recordFile, "utf8")) as ServerRecord;
      expect(shared).toMatchObject({ key: "k1", stopped_at: null });
      expect(isProcessAlive(shared.pid as number)).toBe(true);
      expect(serverRecord(join(root, "a")).stopped_how).toMatch(/^handed over/);

      // Another key, or the same pid with another start time (a reused pid): not adopted.
      expect(await HeldServer.adopt(recordFile, "k2", "/health", 5000)).toBeNull();
      const forged = join(root, "servers", "forged", "server.json");
      await mkdir(dirname(forged), { recursive: true });
      await writeFile(
        forged,
        JSON.stringify({ ...shared, start_ticks: (shared.start_ticks as number) + 1 }),
      );
      expect(await HeldServer.adopt(forged, "k1", "/health", 5000)).toBeNull();
      // A health route that does not answer 200: not adopted.
      expect(await HeldServer.adopt(recordFile, "k1", "/no-such-route", 5000)).toBeNull();

      // The last run of the key adopts it, measures on it, and stops it.
      const second = await runExperiment(config, {
        outputDir: join(root, "b"),
        serverReuse: { key: "k1", recordFile, keep: false },
      });
      expect(second.engine_settings).toMatchObject({
        server_fresh: false,
        server_startup_s: 0,
        server_argv: (first.engine_settings as { server_argv: string[] }).server_argv,
      });
      expect(second.tokens).toMatchObject({ output: 6 * 12, requests: 6 });
      expect(isProcessAlive(shared.pid as number)).toBe(false);
      expect(JSON.parse(readFileSync(recordFile, "utf8")).stopped_at).not.toBeNull();
      expect(existsSync(join(root, "b", "server.json"))).toBe(false);
    });

    it("hands a hostile extra_args value to the server as one literal argument", async () => {
      const dir = await tempDir();
      const hostile = `; rm -rf / $(touch ${join(dir, "pwned")}) \`id\``;
      const config = parseExperimentConfig({
        ...quick,
        engine: "llama-server",
        "llama-server": { extra_args: ["--alias", hostile] },
      });
      const engine = await requireEngine("llama-server").create(config, { outputDir: dir });
      try {
        await engine.prepare({});
        const settings = engine.resolvedSettings() as { url: string; server_argv: string[] };
        expect(settings.server_argv.at(-1)).toBe(hostile);
        const props = (await (await fetch(new URL("/props", settings.url))).json()) as {
          model_alias: string;
        };
        expect(props.model_alias).toBe(hostile);
      } finally {
        await engine.dispose();
      }
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    });

    it.each([
      [
        "vllm",
        "vllm",
        [
          "serve",
          "--host",
          "127.0.0.1",
          "--dtype",
          "bfloat16",
          "--max-num-seqs",
          "2",
          "--tensor-parallel-size",
          "1",
        ],
      ],
      [
        "sglang",
        "sglang",
        [
          "-m",
          "sglang.launch_server",
          "--model-path",
          "--dtype",
          "bfloat16",
          "--max-running-requests",
          "2",
          "--tp-size",
          "1",
        ],
      ],
      ["tensorrt", "tensorrt", ["--max_batch_size", "2", "--tp_size", "1"]],
      [
        "transformers",
        "transformers",
        ["serve", "--force-model", "--dtype", "bfloat16", "--device", "auto"],
      ],
    ] as const)(
      "%s through its stand-in: the argv it checks, served by a real llama-server",
      async (engine, logged, expected) => {
        const dir = await tempDir();
        const { ensureSyntheticModel } = await import("../src/index.js");
        const model = ensureSyntheticModel("synthetic:tiny").path;
        process.env.PATH = `${STAND_INS_BIN}:${savedPath}`;
        process.env.LLEM_STANDIN_LOG = join(dir, "stand-in.jsonl");
        const section: Record<string, unknown> =
          engine === "tensorrt"
            ? { max_num_seqs: 2, extra_args: ["--served_model_name", "$(id) ; rm -rf /"] }
            : engine === "transformers"
              ? { dtype: "bfloat16" }
              : {
                  dtype: "bfloat16",
                  max_num_seqs: 2,
                  extra_args: ["--served-model-name", "$(id) ; rm -rf /"],
                };
        try {
          const result = await runExperiment(
            {
              ...quick,
              task: { ...quick.task, model },
              engine,
              [engine]: section,
              workload: { mode: "concurrent", concurrency: 2 },
            } as ExperimentConfigInput,
            { outputDir: dir },
          );
          expect(result.engine).toBe(engine);
          expect(result.tokens.requests).toBe(6);
          expect(result.errors?.count).toBe(0);
          const [line] = readFileSync(join(dir, "stand-in.jsonl"), "utf8").trim().split("\n");
          const received = JSON.parse(line as string) as { engine: string; argv: string[] };
          expect(received.engine).toBe(logged);
          for (const word of expected) expect(received.argv).toContain(word);
          expect(received.argv).toContain(model);
          if (engine !== "transformers") expect(received.argv.at(-1)).toBe("$(id) ; rm -rf /");
          if (engine === "transformers") {
            // transformers serve has no /v1/completions and sends no usage.
            expect(result.engine_settings).toMatchObject({
              api: "chat",
              stream_usage_requested: false,
            });
          }
        } finally {
          process.env.PATH = savedPath;
          delete process.env.LLEM_STANDIN_LOG;
        }
      },
    );
  },
);

const podman = skip === null ? llamaServerImage() : { skip: skip };
describe.skipIf("skip" in podman)(
  `runner podman, for real: a local image, the port on 127.0.0.1, the container gone after ${"skip" in podman ? podman.skip : ""}`,
  { timeout: 180_000 },
  () => {
    it("runs llama-server in a container and removes it", async () => {
      const dir = await tempDir();
      const image = "image" in podman ? podman.image : "";
      const result = await runExperiment(
        {
          ...quick,
          engine: "llama-server",
          "llama-server": { runner: "podman", image, runtime_args: PODMAN_RUNTIME_ARGS },
          workload: { mode: "concurrent", concurrency: 2 },
        },
        { outputDir: dir },
      );
      expect(result.errors?.count).toBe(0);
      expect(result.tokens.output).toBe(6 * 12);
      const record = serverRecord(dir);
      expect(record.runner).toBe("podman");
      expect(record.container?.name).toMatch(/^llem-/);
      expect(record.argv).toContain(`127.0.0.1:${new URL(record.url).port}:8000`);
      expect(record.stopped_how).toBe("stopped");
      const listed = spawnSync("podman", ["ps", "--all", "--format", "{{.Names}}"], {
        encoding: "utf8",
      });
      expect(listed.stdout.split("\n")).not.toContain(record.container?.name);
    });
  },
);
