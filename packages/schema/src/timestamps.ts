import { z } from "zod";

/** ISO-8601 UTC timestamp ending in Z (offsets are accepted on read, for files written elsewhere). */
export const Timestamp = z.iso
  .datetime({ offset: true })
  .describe("ISO-8601 timestamp, UTC, ending in Z");

/** Now, as llem writes timestamps. */
export function nowIso(): string {
  return new Date().toISOString();
}
