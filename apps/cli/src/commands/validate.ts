import { printableMessage } from "@llem/schema/errors";
import { expectPositionals, parseCommandArgs } from "../args.js";
import { EXIT } from "../exit-codes.js";
import { formatDuration, plural } from "../output/format.js";

/** `llem validate FILE`: load (parse, validate, expand) without running anything. */
export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("validate", argv, {
    json: { type: "boolean" },
  });
  const [file] = expectPositionals("validate", positionals, ["file"]) as [string];
  const { loadStudy, preflightStudy } = await import("@llem/study");
  const loaded = await loadStudy(file);
  // Valid means `llem run` would start it: what run refuses before any experiment, this refuses.
  preflightStudy(loaded);
  const cycles = loaded.study.study_execution.n_cycles;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        valid: true,
        file: loaded.file,
        kind: loaded.kind,
        study_name: loaded.study.study_name,
        study_design_hash: loaded.designHash,
        study_yaml_hash: loaded.yamlHash,
        unique_configs: loaded.configs.length,
        n_cycles: cycles,
        total_runs: loaded.runs.length,
        skipped: loaded.skipped.map((skip) => ({
          config_summary: skip.summary,
          reason: skip.reason,
        })),
        warnings: loaded.warnings,
      })}\n`,
    );
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(
    loaded.kind === "experiment"
      ? // The same file is "experiment config" in its errors: one name for it either way.
        `${file}: valid — experiment config: ${plural(cycles, "cycle")} = ${plural(loaded.runs.length, "run")} (study dirs are named "${loaded.study.study_name}")`
      : `${file}: valid — study "${loaded.study.study_name}": ${plural(loaded.configs.length, "config")} × ${plural(cycles, "cycle")} = ${plural(loaded.runs.length, "run")}`,
  );
  if (loaded.skipped.length > 0) {
    out.push(`${plural(loaded.skipped.length, "invalid combination")} skipped:`);
    for (const skip of loaded.skipped.slice(0, 20)) out.push(`  - ${skip.summary}: ${skip.reason}`);
    if (loaded.skipped.length > 20) out.push(`  … and ${loaded.skipped.length - 20} more`);
  }
  for (const warning of loaded.warnings) out.push(`warning: ${warning}`);
  out.push(
    `estimated duration: ${formatDuration(loaded.estimate.typicalSeconds)} (at least ${formatDuration(loaded.estimate.minSeconds)})`,
  );
  process.stdout.write(`${printableMessage(out.join("\n"))}\n`);
  return EXIT.ok;
}
