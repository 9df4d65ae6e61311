import { createInterface } from "node:readline/promises";
import type { DriftChange, DriftInfo } from "@llem/study";

/** study.yaml changed since the study started: --yes proceeds, a TTY asks, anything else refuses. */
export async function confirmDrift(
  info: DriftInfo,
  change: DriftChange,
  file: string,
  yes: boolean,
): Promise<boolean> {
  const since = `${file} changed since the study started`;
  const what = {
    formatting: `${since}, only in comments or formatting: no experiment changed`,
    cycles: `${since}, only in n_cycles: resuming tops the study up with the new cycles`,
    schedule: `${since} in how runs are scheduled (study_execution or output), not in any experiment`,
    experiments: `${since} (study_yaml_hash ${info.recorded.slice(0, 12)} → ${info.current.slice(0, 12)}); completed runs keep their old configs`,
  }[change];
  if (yes) {
    process.stderr.write(`llem: ${what}; continuing (--yes)\n`);
    return true;
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    const { LlemError } = await import("@llem/schema");
    throw new LlemError(
      "STUDY_DRIFT",
      `${what}. Refusing to resume without confirmation: rerun with --yes to accept the change, or restore the file.`,
      { details: { recorded: info.recorded, current: info.current } },
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${what}.\nResume with the changed file? [y/N] `);
    const accepted = /^y(es)?$/i.test(answer.trim());
    if (!accepted) {
      const { LlemError } = await import("@llem/schema");
      throw new LlemError(
        "STUDY_DRIFT",
        "resume cancelled: study.yaml changed and the change was not accepted",
      );
    }
    return true;
  } finally {
    prompt.close();
  }
}
