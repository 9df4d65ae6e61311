import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { describe, expect, it } from "vitest";
import { ManifestStore, readManifest } from "../src/index.js";
import { makeRuns, spawnFixture, studyFields, testDir } from "./helpers.js";

describe("several workers sharing one study with leases", () => {
  it("four processes complete every run of a 200-run study exactly once", async () => {
    const dir = await testDir();
    const creator = await ManifestStore.create(dir, { ...studyFields, runs: makeRuns(200, 40) });
    await creator.close();

    const workers = ["w1", "w2", "w3", "w4"].map((id) =>
      spawnFixture("lease-worker.mjs", [dir, id]),
    );
    const results = await Promise.all(workers.map((w) => w.done));
    const done: string[] = [];
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      for (const line of result.stdout.split("\n")) {
        if (line.startsWith("DONE ")) done.push(line.slice(5));
      }
    }
    expect(done).toHaveLength(200);
    expect(new Set(done).size).toBe(200);
    // Work was really shared.
    const perWorker = results.map(
      (r) => r.stdout.split("\n").filter((l) => l.startsWith("DONE")).length,
    );
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1);

    const manifest = await readManifest(dir);
    expect(manifest.status).toBe("completed");
    for (const entry of manifest.experiments) {
      expect(entry.status).toBe("completed");
      expect(entry.attempts).toBe(1);
      expect(entry.lease ?? null).toBeNull();
      expect(entry.result_file).toBe(`results/${entry.config_hash}_c${entry.cycle}.json`);
    }
    expect(await readdir(join(dir, "results"))).toHaveLength(200);
  }, 90_000);

  it("a run whose worker was killed is claimable again once its lease expires", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const creator = await ManifestStore.create(dir, { ...studyFields, runs });
    await creator.close();

    const doomed = spawnFixture("lease-worker.mjs", [dir, "doomed", "1"]);
    await new Promise<void>((resolve) => {
      doomed.child.stdout!.on("data", (chunk: string) => {
        if (chunk.includes("CLAIMED")) resolve();
      });
    });
    doomed.child.kill("SIGKILL");
    await doomed.done;

    const rescuer = await ManifestStore.open(dir, {
      mode: "shared",
      workerId: "rescuer",
      leaseTtlMs: 60_000,
    });
    // Lease still fresh: only the other two runs are claimable.
    const fresh = [await rescuer.claimNext(), await rescuer.claimNext(), await rescuer.claimNext()];
    expect(fresh.map((e) => e?.config_hash ?? null)).toEqual([
      runs[1]!.configHash,
      runs[2]!.configHash,
      null,
    ]);
    await rescuer.close();

    const late = await ManifestStore.open(dir, { mode: "shared", workerId: "late", leaseTtlMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const reclaimed = await late.claimNext();
    expect(reclaimed).toMatchObject({
      config_hash: runs[0]!.configHash,
      status: "running",
      attempts: 2,
    });
    expect(reclaimed?.lease?.worker).toBe("late");
    await late.markCompleted(runs[0]!.configHash, 1, "r.json");
    await late.close();
  }, 30_000);

  it("refuses to complete a run whose lease was taken over, and heartbeats keep a lease alive", async () => {
    const dir = await testDir();
    const runs = makeRuns(2);
    const creator = await ManifestStore.create(dir, { ...studyFields, runs });
    await creator.close();
    const ttl = { leaseTtlMs: 1000 };
    const a = await ManifestStore.open(dir, { mode: "shared", workerId: "a", ...ttl });
    const b = await ManifestStore.open(dir, { mode: "shared", workerId: "b", ...ttl });

    const first = await a.claimNext();
    expect(first?.config_hash).toBe(runs[0]!.configHash);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await a.heartbeat()).toBe(1);
    // a renewed its lease just now, so b cannot take run 0 over: b gets the other run.
    expect((await b.claimNext())?.config_hash).toBe(runs[1]!.configHash);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // a stopped heart-beating: b takes run 0 over.
    const taken = await b.claimNext();
    expect(taken).toMatchObject({ config_hash: runs[0]!.configHash, attempts: 2 });
    const refused = await a.markCompleted(runs[0]!.configHash, 1, "a.json").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LlemError.hasCode(refused, "INVALID_TRANSITION")).toBe(true);
    expect((refused as Error).message).toContain("leased to worker b");
    await b.markCompleted(runs[0]!.configHash, 1, "b0.json");
    await b.markCompleted(runs[1]!.configHash, 1, "b1.json");
    await a.close();
    await b.close();
    const manifest = await readManifest(dir);
    expect(manifest.status).toBe("completed");
    expect(manifest.experiments.map((e) => e.result_file)).toEqual(["b0.json", "b1.json"]);
  });

  it("claimNext options: accept passes runs over; reclaimDeadHolders takes a killed local worker's run at once", async () => {
    const dir = await testDir();
    const runs = makeRuns(3);
    const creator = await ManifestStore.create(dir, { ...studyFields, runs });
    await creator.close();

    const doomed = spawnFixture("lease-worker.mjs", [dir, "doomed", "1"]);
    await new Promise<void>((resolve) => {
      doomed.child.stdout!.on("data", (chunk: string) => {
        if (chunk.includes("CLAIMED")) resolve();
      });
    });
    const options = { mode: "shared" as const, workerId: "rescuer", leaseTtlMs: 60_000 };
    const rescuer = await ManifestStore.open(dir, options);
    // Alive: its lease holds even with reclaimDeadHolders; accept skips run 1.
    const skipOne = (entry: { config_hash: string }) => entry.config_hash !== runs[1]!.configHash;
    const first = await rescuer.claimNext("rescuer", { accept: skipOne, reclaimDeadHolders: true });
    expect(first?.config_hash).toBe(runs[2]!.configHash);
    expect(await rescuer.claimNext("rescuer", { accept: skipOne, reclaimDeadHolders: true })).toBe(
      null,
    );
    doomed.child.kill("SIGKILL");
    await doomed.done;
    // Dead on this host: without the option its lease waits for the TTL, with it it is taken now.
    expect(await rescuer.claimNext("rescuer", { accept: skipOne })).toBe(null);
    const taken = await rescuer.claimNext("rescuer", { accept: skipOne, reclaimDeadHolders: true });
    expect(taken).toMatchObject({ config_hash: runs[0]!.configHash, attempts: 2 });
    expect((await rescuer.claimNext())?.config_hash).toBe(runs[1]!.configHash);
    await rescuer.close();
  }, 30_000);
});
