import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ExperimentResult, RequestRecord } from "@llem/schema";
import {
  FAULT_SERVER,
  isProcessAlive,
  llamaServerBinary,
  llamaServerImage,
  llamaServerSkipReason,
  PODMAN_RUNTIME_ARGS,
  STAND_INS_BIN,
  tempDir,
  waitFor,
} from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import {
  expectNoStackTrace,
  onlyStudyDir,
  REPO,
  readJson,
  readStudyManifest,
  runCli,
  startCli,
  writeText,
} from "./helpers.js";

const skip = llamaServerSkipReason();
const llamaServer = llamaServerBinary() ?? "";

/** The shared fields of a small server study: tiny model, few prompts, no idle baseline. */
function serverStudy(body: string, size = { prompts: 4, outputs: 8 }): string {
  return `study_name: servers
task:
  model: synthetic:tiny
  dataset:
    n_prompts: ${size.prompts}
  max_output_tokens: ${size.outputs}
measurement:
  baseline:
    enabled: false
  warmup:
    n_warmup: 1
${body}`;
}

/** Env with the stand-ins first on PATH, serving through the real llama-server. */
function standInEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${STAND_INS_BIN}:${process.env.PATH}`,
    LLEM_STANDIN_LLAMA_SERVER: llamaServer,
    ...extra,
  };
}

/** Every experiment dir's server.json. */
async function serverRecords(studyDir: string) {
  const root = join(studyDir, "experiments");
  const records = [];
  for (const name of await readdir(root)) {
    const path = join(root, name, "server.json");
    if (existsSync(path)) records.push(JSON.parse(await readFile(path, "utf8")));
  }
  return records as Array<{
    pid: number | null;
    owner: { pid: number };
    container: { name: string } | null;
    ready_at: string | null;
    stopped_at: string | null;
    stopped_how: string | null;
  }>;
}

async function readyServer(resultsDir: string) {
  return waitFor(
    async () => {
      if (!existsSync(resultsDir)) return undefined;
      const [name] = await readdir(resultsDir);
      if (!name || !existsSync(join(resultsDir, name, "experiments"))) return undefined;
      const records = await serverRecords(join(resultsDir, name));
      return records.find((record) => record.ready_at !== null && record.stopped_at === null);
    },
    { timeoutMs: 60_000, what: "a run's server to be ready" },
  );
}

describe.skipIf(skip !== null)(`llem run with server engines ${skip ?? ""}`, () => {
  it("a llama-server study on synthetic:tiny: 2 configs × 2 cycles, interrupted, resumed, completed", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      serverStudy(
        "engine: llama-server\nworkload:\n  mode: concurrent\nsweep:\n  workload.concurrency: [1, 2]\nstudy_execution:\n  n_cycles: 2\n  experiment_order: interleave\n",
      ),
    );
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--json", "--results-dir", resultsDir]);
    await waitFor(() => live.events().some((event) => event.type === "run_finished"), {
      timeoutMs: 90_000,
      what: "the first run to finish",
    });
    live.child.kill("SIGINT");
    const interrupted = await live.exited;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    const studyDir = await onlyStudyDir(resultsDir);

    const resumed = await runCli(["run", "--resume", studyDir], { timeoutMs: 180_000 });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain("Study completed: 4/4 runs completed");
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.map((entry) => entry.status)).toEqual(Array(4).fill("completed"));
    for (const entry of manifest.experiments) {
      const result = ExperimentResult.parse(
        await readJson(join(studyDir, entry.result_file as string)),
      );
      expect(result.engine).toBe("llama-server");
      expect(result.tokens.output).toBe(4 * 8);
      expect(result.requests_file).toBe("requests.jsonl");
      const dirOf = join(studyDir, (entry.result_file as string).replace(/\/result\.json$/, ""));
      const lines = readFileSync(join(dirOf, "requests.jsonl"), "utf8").trim().split("\n");
      expect(lines.map((line) => RequestRecord.parse(JSON.parse(line)).status)).toEqual(
        Array(4).fill("ok"),
      );
    }
    for (const record of await serverRecords(studyDir)) {
      expect(record.stopped_at).not.toBeNull();
      if (record.pid !== null) expect(isProcessAlive(record.pid)).toBe(false);
    }
    expect(resumed.stderr).toMatch(
      /✓ .*llama-server \/ synthetic:tiny \/ parallel=2 \/ concurrency=2/,
    );
  }, 300_000);

  it("reuse_servers: consecutive runs of one server configuration share its server, stopped at the end", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      serverStudy(
        'engine: llama-server\n"llama-server":\n  n_parallel: 2\nworkload:\n  mode: concurrent\nsweep:\n  task.max_output_tokens: [8, 12]\n  workload.concurrency: [1, 2]\nstudy_execution:\n  reuse_servers: true\n  experiment_order: sequential\n',
      ),
    );
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      timeoutMs: 180_000,
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    const settings = [];
    for (const entry of manifest.experiments) {
      const result = ExperimentResult.parse(
        await readJson(join(studyDir, entry.result_file as string)),
      );
      settings.push(
        result.engine_settings as {
          server_fresh: boolean;
          server_argv: string[];
          server_startup_s: number;
        },
      );
    }
    // max_output_tokens changes the server's context (its command line): two servers, each
    // shared by the two concurrencies that follow each other.
    expect(settings.map((each) => each.server_fresh)).toEqual([true, false, true, false]);
    // A shared run waited for no server: its startup is 0, a fresh one's is not.
    expect(settings.map((each) => each.server_startup_s > 0)).toEqual([true, false, true, false]);
    expect(settings[1]?.server_argv).toEqual(settings[0]?.server_argv);
    expect(settings[2]?.server_argv).not.toEqual(settings[1]?.server_argv);
    const shared = await readdir(join(studyDir, "servers"));
    expect(shared).toHaveLength(2);
    for (const key of shared) {
      const record = JSON.parse(
        readFileSync(join(studyDir, "servers", key, "server.json"), "utf8"),
      );
      expect(record.stopped_at).not.toBeNull();
      expect(isProcessAlive(record.pid)).toBe(false);
    }
  }, 300_000);

  it("reuse_servers: SIGKILL of llem while a shared server is held, then --resume: none is left", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      serverStudy(
        'engine: llama-server\n"llama-server":\n  n_parallel: 2\nworkload:\n  mode: concurrent\nsweep:\n  workload.concurrency: [1, 2]\nstudy_execution:\n  reuse_servers: true\n  n_cycles: 2\n  experiment_order: sequential\n',
        { prompts: 40, outputs: 64 },
      ),
    );
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--results-dir", resultsDir]);
    // The first run handed its server over: the shared record describes a live server.
    const shared = await waitFor(
      async () => {
        if (!existsSync(resultsDir)) return undefined;
        const [name] = await readdir(resultsDir);
        const root = join(resultsDir, name ?? "-", "servers");
        if (!name || !existsSync(root)) return undefined;
        const [key] = await readdir(root);
        const path = join(root, key ?? "-", "server.json");
        if (!key || !existsSync(path)) return undefined;
        const record = JSON.parse(readFileSync(path, "utf8"));
        return record.stopped_at === null ? record : undefined;
      },
      { timeoutMs: 120_000, what: "a shared server to be handed over" },
    );
    expect(isProcessAlive(shared.pid)).toBe(true);
    live.child.kill("SIGKILL");
    await live.exited;
    const studyDir = await onlyStudyDir(resultsDir);
    const resumed = await runCli(["run", "--resume", studyDir], { timeoutMs: 240_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(isProcessAlive(shared.pid)).toBe(false);
    const keys = await readdir(join(studyDir, "servers"));
    for (const key of keys) {
      const record = JSON.parse(
        readFileSync(join(studyDir, "servers", key, "server.json"), "utf8"),
      );
      expect(record.stopped_at).not.toBeNull();
      expect(isProcessAlive(record.pid)).toBe(false);
    }
    for (const each of await serverRecords(studyDir)) {
      if (each.pid !== null) expect(isProcessAlive(each.pid)).toBe(false);
    }
  }, 400_000);

  it("SIGKILL of llem mid-run, then --resume: no server process is left behind", async () => {
    const dir = await tempDir();
    const file = await writeText(
      dir,
      "study.yaml",
      // Long enough that the kill lands while the server is up.
      serverStudy("engine: llama-server\n", { prompts: 40, outputs: 64 }),
    );
    const resultsDir = join(dir, "results");
    const live = startCli(["run", file, "--results-dir", resultsDir]);
    const record = await readyServer(resultsDir);
    expect(record.pid).not.toBeNull();
    live.child.kill("SIGKILL");
    await live.exited;
    const studyDir = await onlyStudyDir(resultsDir);
    const resumed = await runCli(["run", "--resume", studyDir], { timeoutMs: 180_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The server of the killed run is gone: stopped by its experiment process when llem went away,
    // or by the cleanup on resume (it says so).
    expect(isProcessAlive(record.pid as number)).toBe(false);
    for (const each of await serverRecords(studyDir)) {
      expect(each.stopped_at).not.toBeNull();
      if (each.pid !== null) expect(isProcessAlive(each.pid)).toBe(false);
    }
  }, 300_000);

  it("the multi-engine example (llamacpp, llama-server, vllm) runs, vllm through its stand-in", async () => {
    const dir = await tempDir();
    const { ensureSyntheticModel } = await import("@llem/backends");
    const gguf = ensureSyntheticModel("synthetic:tiny").path;
    // The example as shipped, made small, with vLLM serving a GGUF the stand-in can hand to llama-server.
    const example = (await readFile(join(REPO, "examples/multi-engine.yaml"), "utf8"))
      .replace("n_prompts: 16", "n_prompts: 3")
      .replace("max_output_tokens: 64", "max_output_tokens: 6")
      .replace("task.model: Qwen/Qwen2.5-0.5B-Instruct", `task.model: ${gguf}`)
      .replace("vllm.dtype: [float16, bfloat16]", "vllm.dtype: [bfloat16]")
      .replace("vllm.max_num_seqs: [4, 16]", "vllm.max_num_seqs: [4]")
      .replace("n_cycles: 2", "n_cycles: 1")
      .concat("measurement:\n  baseline:\n    enabled: false\n  warmup:\n    n_warmup: 1\n");
    const file = await writeText(dir, "multi-engine.yaml", example);
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      env: standInEnv({ LLEM_STANDIN_LOG: join(dir, "stand-in.jsonl") }),
      timeoutMs: 240_000,
    });
    expect(outcome.code, outcome.stderr + outcome.stdout).toBe(0);
    expect(outcome.stdout).toContain("Study completed: 6/6 runs completed");
    for (const engine of ["llamacpp", "llama-server", "vllm"]) {
      expect(outcome.stderr.match(new RegExp(`✓ .* ${engine} / `, "g"))).toHaveLength(2);
    }
    const logged = readFileSync(join(dir, "stand-in.jsonl"), "utf8").trim().split("\n");
    expect(logged).toHaveLength(2);
    expect(JSON.parse(logged[0] as string).argv).toEqual(
      expect.arrayContaining(["serve", gguf, "--dtype", "bfloat16", "--max-num-seqs", "4"]),
    );
  }, 300_000);

  it("sglang, tensorrt and transformers through their stand-ins, and openai against a llama-server the test started", async () => {
    const dir = await tempDir();
    const { ensureSyntheticModel } = await import("@llem/backends");
    const gguf = ensureSyntheticModel("synthetic:tiny").path;
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const endpoint = spawn(
      llamaServer,
      [
        "--model",
        gguf,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--parallel",
        "2",
        "--ctx-size",
        "2048",
      ],
      { stdio: "ignore" },
    );
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok,
        {
          timeoutMs: 60_000,
          what: "the endpoint to be ready",
        },
      );
      const file = await writeText(
        dir,
        "study.yaml",
        serverStudy(`experiments:
  - {engine: sglang, task: {model: ${gguf}, dataset: {n_prompts: 3}, max_output_tokens: 6}}
  - {engine: tensorrt, task: {model: ${gguf}, dataset: {n_prompts: 3}, max_output_tokens: 6}, tensorrt: {max_num_seqs: 2}}
  - {engine: transformers, task: {model: ${gguf}, dataset: {n_prompts: 3}, max_output_tokens: 6}}
  - {engine: openai, task: {model: tiny, dataset: {n_prompts: 3}, max_output_tokens: 6}, openai: {endpoint: "http://127.0.0.1:${port}", api_key_env: LLEM_TEST_KEY, ignore_eos: true}}
`),
      );
      const resultsDir = join(dir, "results");
      const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
        env: standInEnv({ LLEM_TEST_KEY: "sk-test-never-logged" }),
        timeoutMs: 240_000,
      });
      expect(outcome.code, outcome.stderr + outcome.stdout).toBe(0);
      expect(outcome.stdout).toContain("Study completed: 4/4 runs completed");
      const studyDir = await onlyStudyDir(resultsDir);
      const manifest = await readStudyManifest(studyDir);
      const engines = [];
      for (const entry of manifest.experiments) {
        const result = ExperimentResult.parse(
          await readJson(join(studyDir, entry.result_file as string)),
        );
        engines.push(result.engine);
        if (result.engine === "transformers") {
          // No usage in its streams: tokens are the text chunks llem counted, and the result says so.
          expect(result.tokens.output).toBeLessThanOrEqual(3 * 6);
          expect(result.warnings.map((warning) => warning.code)).toContain("tokens_from_chunks");
        } else {
          expect(result.tokens.output).toBe(3 * 6);
        }
      }
      expect(engines.sort()).toEqual(["openai", "sglang", "tensorrt", "transformers"]);
      // The API key is read from the environment and written nowhere.
      const written = spawnSync("grep", ["-rl", "sk-test-never-logged", studyDir], {
        encoding: "utf8",
      });
      expect(written.stdout).toBe("");
      expect(outcome.stdout + outcome.stderr).not.toContain("sk-test-never-logged");
    } finally {
      endpoint.kill();
    }
  }, 300_000);

  it("faulty servers fail their runs clearly, with the server's log; the study goes on", async () => {
    const dir = await tempDir();
    const fault = (kind: string, extra = "") =>
      `  - {engine: llama-server, "llama-server": {binary: ${FAULT_SERVER}, startup_timeout_s: ${kind === "never-ready" ? 3 : 60}, extra_args: [--llem-fault, ${kind}, --llem-fault-after, "2"]${extra}}}`;
    const file = await writeText(
      dir,
      "study.yaml",
      serverStudy(`experiments:
${fault("never-ready")}
${fault("http-500")}
${fault("crash")}
  - {engine: llama-server}
study_execution:
  max_consecutive_failures: 0
`),
    );
    const resultsDir = join(dir, "results");
    const outcome = await runCli(["run", file, "--results-dir", resultsDir], {
      env: { LLEM_STANDIN_LLAMA_SERVER: llamaServer },
      timeoutMs: 240_000,
    });
    expect(outcome.code, outcome.stderr).toBe(1);
    expectNoStackTrace(outcome.stderr);
    const studyDir = await onlyStudyDir(resultsDir);
    const manifest = await readStudyManifest(studyDir);
    expect(manifest.experiments.map((entry) => [entry.status, entry.error_type])).toEqual([
      ["failed", "SERVER_NOT_READY"],
      ["failed", "REQUESTS_FAILED"],
      ["failed", "SERVER_EXITED"],
      ["completed", null],
    ]);
    for (const entry of manifest.experiments.slice(0, 3))
      expect(entry.error_message).toContain("--- last lines of the server log ---");
    expect(outcome.stderr).toMatch(
      /✗ .*failed after .*SERVER_NOT_READY: .*not ready within startup_timeout_s 3/,
    );
    expect(outcome.stdout).toMatch(/1\/4 runs completed/);
    // The failed runs kept what they measured.
    const dirs = (await readdir(join(studyDir, "experiments"))).sort();
    expect(existsSync(join(studyDir, "experiments", dirs[1] as string, "requests.jsonl"))).toBe(
      true,
    );
    for (const record of await serverRecords(studyDir)) expect(record.stopped_at).not.toBeNull();
  }, 300_000);

  it("llem doctor says where each server binary was found", async () => {
    const outcome = await runCli(["doctor", "--json"], {
      env: standInEnv({ LLEM_LLAMA_SERVER_BIN: llamaServer }),
    });
    const report = JSON.parse(outcome.stdout) as {
      engines: { name: string; ok: boolean; detail: string }[];
      runners: { name: string; ok: boolean; detail: string }[];
    };
    const line = (name: string) => report.engines.find((finding) => finding.name === name);
    expect(line("llama-server")).toMatchObject({
      ok: true,
      detail: `${llamaServer} (from $LLEM_LLAMA_SERVER_BIN)`,
    });
    expect(line("vllm")).toMatchObject({
      ok: true,
      detail: `${join(STAND_INS_BIN, "vllm")} serve (from PATH)`,
    });
    expect(line("sglang")?.detail).toBe(
      `${join(STAND_INS_BIN, "python3")} -m sglang.launch_server (from PATH)`,
    );
    expect(line("tensorrt")?.ok).toBe(true);
    expect(line("transformers")?.ok).toBe(true);
    expect(report.runners.map((runner) => runner.name)).toEqual(["podman", "docker", "apptainer"]);
    const without = await runCli(["doctor", "--json"], {
      env: { PATH: "/usr/bin:/bin", LLEM_VLLM_BIN: undefined },
    });
    const bare = JSON.parse(without.stdout) as typeof report;
    expect(bare.engines.find((finding) => finding.name === "vllm")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /^`vllm serve`: vllm not found on PATH \(set LLEM_VLLM_BIN or the config's binary to its path\)/,
      ),
    });
  }, 120_000);
});

const podman = skip === null ? llamaServerImage() : { skip };
describe.skipIf("skip" in podman)(
  `llem run with runner podman ${"skip" in podman ? podman.skip : ""}`,
  () => {
    it("SIGKILL of llem and its experiment process: the container is left, --resume removes it first", async () => {
      const dir = await tempDir();
      const image = "image" in podman ? podman.image : "";
      const file = await writeText(
        dir,
        "study.yaml",
        serverStudy(
          `engine: llama-server
"llama-server":
  runner: podman
  image: ${image}
  runtime_args: [${PODMAN_RUNTIME_ARGS.join(", ")}]
`,
          { prompts: 40, outputs: 64 },
        ),
      );
      const resultsDir = join(dir, "results");
      const live = startCli(["run", file, "--results-dir", resultsDir]);
      const record = await readyServer(resultsDir);
      const name = record.container?.name as string;
      // Everything of llem dies at once (as an OOM kill or a lost node would take it): the runner and
      // the experiment's whole process group. Only the container, which podman keeps apart, stays.
      live.child.kill("SIGKILL");
      process.kill(-record.owner.pid, "SIGKILL");
      await live.exited;
      const running = () =>
        spawnSync("podman", ["ps", "--format", "{{.Names}}"], { encoding: "utf8" }).stdout.split(
          "\n",
        );
      expect(running()).toContain(name);
      const studyDir = await onlyStudyDir(resultsDir);
      const resumed = await runCli(["run", "--resume", studyDir], { timeoutMs: 240_000 });
      expect(resumed.code, resumed.stderr).toBe(0);
      // One sweep for every leftover: the dead run's group and its container, from server.json.
      expect(resumed.stderr).toMatch(/Stopped \d+ process(es)? that a dead run left running/);
      const records = await serverRecords(studyDir);
      expect(
        records.some((each) => /stopped on cleanup \(container llem-/.test(each.stopped_how ?? "")),
      ).toBe(true);
      expect(running()).not.toContain(name);
      // Nor the resumed run's: every container this study started is gone.
      const all = spawnSync("podman", ["ps", "--all", "--format", "{{.Names}}"], {
        encoding: "utf8",
      }).stdout.split("\n");
      // The killed attempt's dir and the resumed attempt's (…_a2), one container each.
      const started = (await serverRecords(studyDir)).map((each) => each.container?.name);
      expect(started).toHaveLength(2);
      for (const each of [name, ...started]) expect(all).not.toContain(each);
    }, 300_000);
  },
);
