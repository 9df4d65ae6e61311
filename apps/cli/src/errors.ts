import { LlemError, printableMessage } from "@llem/schema/errors";

/**
 * Prints an error for a person: an expected (LlemError) one as its message alone; anything else as
 * an internal error. Stack traces and causes only with LLEM_DEBUG=1.
 */
export function reportError(error: unknown, stream: NodeJS.WritableStream = process.stderr): void {
  const debug = process.env.LLEM_DEBUG === "1";
  // Messages quote names from configs and manifests: their control characters are escaped.
  if (LlemError.isInstance(error)) {
    stream.write(`llem: ${printableMessage(error.message)}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    stream.write(`llem: internal error: ${printableMessage(message)}\n`);
    if (!debug)
      stream.write("llem: set LLEM_DEBUG=1 to see the stack trace, and please report it\n");
  }
  if (debug) {
    let current: unknown = error;
    let depth = 0;
    while (current instanceof Error && depth < 5) {
      stream.write(`${depth === 0 ? "" : "caused by: "}${current.stack ?? current.message}\n`);
      current = current.cause;
      depth++;
    }
  }
}
