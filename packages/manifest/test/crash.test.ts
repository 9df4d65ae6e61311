import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { JOURNAL_FILE_NAME, LOCK_DIR_NAME, ManifestStore, readManifest } from "../src/index.js";
import { spawnFixture, testDir } from "./helpers.js";

interface Variant {
  label: string;
  runs: number;
  snapshotEveryTransitionUpTo: number;
  snapshotIntervalMs: number;
}

const variants: Variant[] = [
  // Small study: the whole manifest (~250 KB) is rewritten on every transition.
  {
    label: "manifest rewritten per transition",
    runs: 600,
    snapshotEveryTransitionUpTo: 1000,
    snapshotIntervalMs: 1000,
  },
  // Large-study path: journal appends plus frequent background rewrites of the manifest.
  {
    label: "journal + background rewrites",
    // Journal appends are small, so fewer kills land mid-write: enough work that the extra kills
    // below still find a writer with runs left.
    runs: 2000,
    snapshotEveryTransitionUpTo: 0,
    snapshotIntervalMs: 15,
  },
];

const KILLS_PER_VARIANT = 15; // 30 kills in all, at least
// A kill lands mid-write only by chance (often for the big manifest rewrites, less for journal
// appends); until one has, keep killing, up to this many, so the check below is not a coin toss.
const MAX_KILLS_PER_VARIANT = 60;

describe("a writer SIGKILLed at random moments", () => {
  it.each(variants)(
    "never loses a completed run and always reopens ($label)",
    async (variant) => {
      const dir = await testDir();
      const args = (action: string, hold = false) => [
        dir,
        action,
        String(variant.runs),
        String(variant.snapshotEveryTransitionUpTo),
        String(variant.snapshotIntervalMs),
        ...(hold ? ["hold"] : []),
      ];
      const acknowledged = new Set<string>();
      let leftovers = 0;
      let lastCompleted = 0;
      for (let kill = 0; kill < MAX_KILLS_PER_VARIANT; kill++) {
        if (kill >= KILLS_PER_VARIANT && leftovers > 0) break;
        const { child, done } = spawnFixture(
          "writer.mjs",
          args(kill === 0 ? "create" : "open", true),
        );
        // Wait until the store is open, then kill at a random moment of its work.
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", (chunk: string) => {
            if (chunk.includes("READY")) resolve();
          });
          child.on("exit", () => reject(new Error("writer exited before READY")));
        });
        await sleep(Math.random() * 150);
        child.kill("SIGKILL");
        const result = await done;
        expect(result.signal, result.stderr).toBe("SIGKILL");
        for (const line of result.stdout.split("\n")) {
          const [word, hash, cycle] = line.split(" ");
          if (word === "COMPLETED") acknowledged.add(`${hash} ${cycle}`);
        }
        const names = await readdir(dir);
        leftovers += names.filter((name) => name.endsWith(".tmp")).length;
        const journal = await readFile(join(dir, JOURNAL_FILE_NAME), "utf8");
        if (journal.length > 0 && !journal.endsWith("\n")) leftovers++;
        expect(names).toContain(LOCK_DIR_NAME); // the killed writer could not release its lock

        // A lock-free reader sees a valid manifest holding every acknowledged completion.
        const manifest = await readManifest(dir);
        const completed = new Set(
          manifest.experiments
            .filter((entry) => entry.status === "completed")
            .map((entry) => `${entry.config_hash} ${entry.cycle}`),
        );
        for (const key of acknowledged) expect(completed.has(key), key).toBe(true);
        expect(completed.size).toBeGreaterThanOrEqual(lastCompleted);
        lastCompleted = completed.size;

        // Reopening works at once: the dead holder's lock is recovered without waiting for staleness.
        const store = await ManifestStore.open(dir, {
          snapshotEveryTransitionUpTo: variant.snapshotEveryTransitionUpTo,
          lockWaitMs: 1000,
        });
        expect(store.counts.running).toBe(0);
        expect(
          (await readdir(dir)).filter((name) => name.endsWith(".tmp")),
          String(await readdir(dir)),
        ).toEqual([]);
        await store.close();
      }
      // Some kills must have landed mid-write (a temp file or a torn journal line left behind).
      expect(leftovers).toBeGreaterThan(0);

      // Finally let it run to the end.
      let closedComplete = false;
      for (let attempt = 0; attempt < 3 && !closedComplete; attempt++) {
        const { done } = spawnFixture("writer.mjs", args("open"));
        const result = await done;
        expect(result.code, result.stderr).toBe(0);
        closedComplete = result.stdout.includes("CLOSED true");
      }
      expect(closedComplete).toBe(true);
      const final = await readManifest(dir);
      expect(final.status).toBe("completed");
      expect(final.experiments.every((entry) => entry.status === "completed")).toBe(true);
      expect(await readdir(dir)).not.toContain(LOCK_DIR_NAME);
    },
    120_000,
  );
});
