import { GPU_UUID_PATTERN as UUID_ENTRY } from "@llem/schema";

/**
 * What GPUs this process was given, read from its environment alone (no NVML):
 *
 * - `CUDA_VISIBLE_DEVICES=0,2` / `=GPU-8f3c…,GPU-1a2b…` / `=MIG-…` → those entries, parsed as
 *   CUDA parses them: comma-separated, spaces trimmed, and the list ends at the first entry that
 *   is neither an integer nor a UUID (so `-1` and SLURM's `NoDevFiles` give none, `0,x,1` gives 0);
 *   `CUDA_VISIBLE_DEVICES=` (set, empty) gives none.
 * - else SLURM's allocation: `SLURM_STEP_GPUS`, else `SLURM_JOB_GPUS` (absolute indices; `0-2`
 *   ranges expanded) — SLURM usually sets CUDA_VISIBLE_DEVICES too, which then wins.
 * - else unrestricted: every GPU of the machine.
 */

export type GivenGpus =
  | { restricted: false; description: string }
  | {
      restricted: true;
      /** Entries in the order given: integers as numbers, UUIDs as strings. */
      entries: (number | string)[];
      /** The variable and its value, for messages: `CUDA_VISIBLE_DEVICES=0,1`. */
      description: string;
      /** Where the entries came from. */
      variable: "CUDA_VISIBLE_DEVICES" | "SLURM_STEP_GPUS" | "SLURM_JOB_GPUS";
      /** Entries CUDA would ignore: the first invalid one and everything after it. */
      ignored: string[];
    };

function parseCudaList(value: string): { entries: (number | string)[]; ignored: string[] } {
  const parts = value.split(",").map((part) => part.trim());
  const entries: (number | string)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (/^\d+$/.test(part)) entries.push(Number(part));
    else if (UUID_ENTRY.test(part)) entries.push(part);
    else return { entries, ignored: value.trim() === "" ? [] : parts.slice(i) };
  }
  return { entries, ignored: [] };
}

function parseSlurmList(value: string): number[] {
  const out: number[] = [];
  for (const part of value.split(",")) {
    const range = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!range) continue;
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    for (let index = from; index <= to; index++) out.push(index);
  }
  return out;
}

/** The GPUs `env` gives a process (see the module comment for the rules). */
export function givenGpus(env: NodeJS.ProcessEnv): GivenGpus {
  const cuda = env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined) {
    const { entries, ignored } = parseCudaList(cuda);
    return {
      restricted: true,
      entries,
      ignored,
      variable: "CUDA_VISIBLE_DEVICES",
      description: `CUDA_VISIBLE_DEVICES=${cuda}`,
    };
  }
  for (const variable of ["SLURM_STEP_GPUS", "SLURM_JOB_GPUS"] as const) {
    const value = env[variable];
    if (value === undefined || value.trim() === "") continue;
    return {
      restricted: true,
      entries: parseSlurmList(value),
      ignored: [],
      variable,
      description: `${variable}=${value}`,
    };
  }
  return {
    restricted: false,
    description: "every GPU (nothing narrows it: no CUDA_VISIBLE_DEVICES, no SLURM allocation)",
  };
}
