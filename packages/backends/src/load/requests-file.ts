import { writeFileAtomic } from "@llem/manifest";
import type { RequestRecord } from "@llem/schema";

/** The file name in the experiment dir (`result.json` `requests_file`). */
export const REQUESTS_FILE_NAME = "requests.jsonl";

/** `requests.jsonl`: one JSON object per line, in workload order, written atomically after the window. */
export async function writeRequestsFile(
  path: string,
  records: readonly RequestRecord[],
): Promise<void> {
  await writeFileAtomic(path, records.map((record) => `${JSON.stringify(record)}\n`).join(""));
}
