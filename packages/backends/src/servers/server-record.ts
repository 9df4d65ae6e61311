import { mkdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeJsonAtomic } from "@llem/manifest";
import type { Runner } from "@llem/schema";

/** The file in an experiment dir that says what the run started. */
export const SERVER_RECORD_FILE_NAME = "server.json";

/**
 * `server.json`: what one run started, written before the server starts and updated as it
 * becomes ready and stops, so that a later `--resume` can stop what a killed llem left behind —
 * and so the experiment dir says exactly which command served it. Values of environment
 * variables are never recorded (only their names, in the config).
 */
export interface ServerRecord {
  engine: string;
  runner: Runner;
  /** The command and its arguments, exactly as spawned. */
  argv: string[];
  /** Base URL llem sent requests to. */
  url: string;
  /** The machine and the experiment process that started it. */
  host: string;
  owner: { pid: number; start_ticks: number | null };
  /** The spawned process (the server, or the container runtime's client) and its group. */
  pid: number | null;
  pgid: number | null;
  start_ticks: number | null;
  container: { runtime: "podman" | "docker"; binary: string; name: string } | null;
  started_at: string;
  ready_at: string | null;
  stopped_at: string | null;
  /** How it ended: `stopped` by llem after its run, or what the cleanup of leftovers did. */
  stopped_how: string | null;
  /** A server shared between runs (reuse_servers): the engine.log its output goes to. */
  log_path?: string;
  /** … and the server key (`EngineDefinition.serverKey`) it was started for. */
  key?: string;
}

export function newServerRecord(
  fields: Pick<ServerRecord, "engine" | "runner" | "argv" | "url" | "container" | "owner">,
): ServerRecord {
  return {
    ...fields,
    host: hostname(),
    pid: null,
    pgid: null,
    start_ticks: null,
    started_at: new Date().toISOString(),
    ready_at: null,
    stopped_at: null,
    stopped_how: null,
  };
}

/** Writes the record durably: it must be on disk before what it describes can outlive llem. */
export async function writeServerRecord(dir: string, record: ServerRecord): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, SERVER_RECORD_FILE_NAME), record);
}

export async function readServerRecord(dir: string): Promise<ServerRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, SERVER_RECORD_FILE_NAME), "utf8")) as ServerRecord;
  } catch {
    return null;
  }
}
