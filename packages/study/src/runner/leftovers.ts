import { readdirSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stopLeftoverServer } from "@llem/backends";
import { writeJsonAtomic } from "@llem/manifest";

/**
 * What a run started that could outlive it, recorded in its experiment dir
 * (`processes.json`) while it runs, so that a resume after a crash first stops what the dead run
 * left running — an experiment process group whose runner was SIGKILLed, a server, a container.
 * The file is removed when the run ends normally (its group is killed then anyway).
 *
 * The format is a list of what was started, each item with a `kind`; other kinds are added by
 * what starts them (server engines: `process`, `container`), and a resume stops the kinds it
 * knows and leaves the others listed:
 *
 *   { "schema_version": 1, "host": "gpu-7", "boot_id": "5f0c…",
 *     "started": [ { "kind": "process_group", "pgid": 41234, "start_ticks": 99012, "at": "…Z" } ] }
 *
 * A pid is only signalled on the host and boot that recorded it, and only while its start time
 * (Linux: /proc/<pid>/stat) shows it is the process that was recorded, never a reused pid.
 *
 * A server engine's server is described by the `server.json` it writes next to it (argv, url,
 * container name, pid with its start time, owner): `stopLeftovers` reads that too, through
 * @llem/backends' `stopLeftoverServer`, so one sweep stops everything a dead run left — its
 * group, a server outside it (a container, a server shared between runs), and its container.
 */

export const LEFTOVERS_FILE_NAME = "processes.json";

export interface ProcessGroupRecord {
  kind: "process_group";
  /** The group's id: the pid of its leader (the experiment process). */
  pgid: number;
  /** The leader's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  start_ticks: number;
  at: string;
}

/** An item of `started`: a process group, or a kind another module records (kept as read). */
export type StartedRecord = ProcessGroupRecord | ({ kind: string } & Record<string, unknown>);

export interface LeftoversFile {
  schema_version: 1;
  host: string;
  /** /proc/sys/kernel/random/boot_id: pids of another boot are not these. */
  boot_id: string | null;
  started: StartedRecord[];
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … (null if gone). */
function procStat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Start time (ticks since boot) and process group of a live, non-zombie process. */
function processInfo(pid: number): { startTicks: number; pgid: number } | null {
  const fields = procStat(pid);
  if (!fields || fields[0] === "Z" || fields[0] === "X") return null;
  // After the name: [0] state, [1] ppid, [2] pgrp, … [19] starttime (field 22 of the file).
  return { pgid: Number(fields[2]), startTicks: Number(fields[19]) };
}

/**
 * Records the experiment process group `pgid` (just forked, its leader alive) in `experimentDir`.
 * Only on Linux, where a later resume can tell the same process from a reused pid; elsewhere the
 * record would be unusable and nothing is written.
 */
export async function recordProcessGroup(experimentDir: string, pgid: number): Promise<void> {
  const info = processInfo(pgid);
  const boot = bootId();
  if (!info || boot === null) return;
  const record: LeftoversFile = {
    schema_version: 1,
    host: hostname(),
    boot_id: boot,
    started: [
      { kind: "process_group", pgid, start_ticks: info.startTicks, at: new Date().toISOString() },
    ],
  };
  await writeJsonAtomic(join(experimentDir, LEFTOVERS_FILE_NAME), record);
}

/** Removes the record once the run's processes are gone (the run ended; its group was killed). */
export async function clearProcessRecord(experimentDir: string): Promise<void> {
  await rm(join(experimentDir, LEFTOVERS_FILE_NAME), { force: true });
}

/** Live members of a recorded group: its pgid still names it, and each started after its leader. */
function liveMembers(record: ProcessGroupRecord): number[] {
  let pids: number[];
  try {
    pids = readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
  // Linux does not reuse a pid while a group of that id exists, so members of a group with the
  // recorded id that started no earlier than the recorded leader belong to the recorded group.
  return pids.filter((pid) => {
    const info = processInfo(pid);
    return info !== null && info.pgid === record.pgid && info.startTicks >= record.start_ticks;
  });
}

/**
 * The experiment dirs of runs the manifest still shows `running` (their runner died): the names
 * under experiments/ that end in the run's cycle and config hash, every attempt's (`…_{hash8}` and
 * `…_{hash8}_a{N}`): one readdir, whatever the study.
 */
export function runningExperimentDirs(
  studyDir: string,
  entries: readonly { config_hash: string; cycle: number; status: string }[],
): string[] {
  const running = entries.filter((entry) => entry.status === "running");
  if (running.length === 0) return [];
  let names: string[];
  try {
    names = readdirSync(join(studyDir, "experiments"));
  } catch {
    return [];
  }
  const wanted = new Set(
    running.map((entry) => `_c${entry.cycle}_${entry.config_hash.slice(0, 8)}`),
  );
  return names
    .filter((name) => {
      const cycle = /_c(\d+)_/.exec(name)?.[1];
      const run = name.replace(/_a\d+$/, "");
      return cycle !== undefined && wanted.has(`_c${cycle}_${run.slice(-8)}`);
    })
    .map((name) => join(studyDir, "experiments", name));
}

export interface StoppedLeftovers {
  /** Experiment dirs whose record named processes still running. */
  experimentDirs: string[];
  /** Processes that were running and were stopped. */
  processes: number;
  /** Records of kinds this module does not stop (left in their files). */
  unknownKinds: string[];
}

/**
 * Stops what dead runs left running: for each experiment dir with a `processes.json` of this host
 * and boot, SIGTERM to each recorded process group that still has members, SIGKILL to what is left
 * after `graceMs`; then each dir's `server.json` server, unless its owner still runs; then the
 * record is removed (records of other kinds stay, for whoever knows them). `experimentDirs` may
 * name any dir holding these records (the study's `servers/{key}` too).
 */
export async function stopLeftovers(
  experimentDirs: readonly string[],
  graceMs = 5000,
): Promise<StoppedLeftovers> {
  const outcome: StoppedLeftovers = { experimentDirs: [], processes: 0, unknownKinds: [] };
  const host = hostname();
  const boot = bootId();
  const targets: { dir: string; groups: ProcessGroupRecord[] }[] = [];
  for (const dir of experimentDirs) {
    const file = join(dir, LEFTOVERS_FILE_NAME);
    let record: LeftoversFile;
    try {
      record = JSON.parse(await readFile(file, "utf8")) as LeftoversFile;
    } catch {
      continue; // none (the common case), or unreadable: nothing this resume can trust
    }
    if (record.host !== host || record.boot_id === null || record.boot_id !== boot) {
      continue; // another machine's or another boot's pids are not these
    }
    const started = Array.isArray(record.started) ? record.started : [];
    const groups = started.filter(
      (item): item is ProcessGroupRecord =>
        item.kind === "process_group" &&
        Number.isInteger((item as ProcessGroupRecord).pgid) &&
        (item as ProcessGroupRecord).pgid > 1 &&
        Number.isFinite((item as ProcessGroupRecord).start_ticks),
    );
    for (const item of started)
      if (item.kind !== "process_group") outcome.unknownKinds.push(item.kind);
    targets.push({ dir, groups });
  }
  const running = targets.map(({ dir, groups }) => ({
    dir,
    groups: groups.filter((group) => liveMembers(group).length > 0),
  }));
  for (const { dir, groups } of running) {
    if (groups.length === 0) continue;
    outcome.experimentDirs.push(dir);
    for (const group of groups) {
      outcome.processes += liveMembers(group).length;
      signalGroup(group, "SIGTERM");
    }
  }
  const deadline = Date.now() + graceMs;
  while (running.some(({ groups }) => groups.some((group) => liveMembers(group).length > 0))) {
    if (Date.now() >= deadline) {
      for (const { groups } of running) for (const group of groups) signalGroup(group, "SIGKILL");
      break;
    }
    await sleep(100);
  }
  // Servers: what left the group (a container, a detached shared server) from its server.json.
  for (const dir of experimentDirs) {
    const server = await stopLeftoverServer(dir);
    if (server.kind !== "stopped") continue;
    outcome.processes++;
    if (!outcome.experimentDirs.includes(dir)) outcome.experimentDirs.push(dir);
  }
  for (const { dir } of targets) {
    const file = join(dir, LEFTOVERS_FILE_NAME);
    const record = JSON.parse(
      await readFile(file, "utf8").catch(() => "{}"),
    ) as Partial<LeftoversFile>;
    const others = (record.started ?? []).filter((item) => item.kind !== "process_group");
    if (others.length === 0) await rm(file, { force: true });
    else await writeJsonAtomic(file, { ...record, started: others });
  }
  return outcome;
}

/** Signals the live members of a recorded group one by one (each checked as a member first). */
function signalGroup(group: ProcessGroupRecord, signal: NodeJS.Signals): void {
  for (const pid of liveMembers(group)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}
