// One claimer of bench/scale.mjs's claim benchmark: claims runs of a shared study through the
// built store until none is left, completing each at once (no experiment), and reports the
// latency of every claimNext and markCompleted call (lock wait included) as JSON on stdout.
// usage: claim-worker.mjs <manifestDist> <studyDir> <workerId>
import { pathToFileURL } from "node:url";

const [dist, studyDir, workerId] = process.argv.slice(2);
const { ManifestStore } = await import(pathToFileURL(dist).href);
const store = await ManifestStore.open(studyDir, { mode: "shared", workerId });
const claims = [];
const completions = [];
for (;;) {
  let started = performance.now();
  const run = await store.claimNext(workerId, { reclaimDeadHolders: true });
  claims.push(performance.now() - started);
  if (run === null) break;
  started = performance.now();
  await store.markCompleted(run.config_hash, run.cycle, `r/${run.config_hash}_${run.cycle}.json`);
  completions.push(performance.now() - started);
}
await store.close();
process.stdout.write(`${JSON.stringify({ claims, completions })}\n`);
