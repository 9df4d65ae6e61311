import { type ParseArgsConfig, parseArgs } from "node:util";
import { EXIT, LLEM_ERROR_MARK } from "./exit-codes.js";

/**
 * A usage error raised before any llem package is loaded. It carries the same mark as LlemError
 * (code USAGE) so the one exit-code table applies to it, without importing @llem/schema.
 */
export class UsageError extends Error {
  readonly [LLEM_ERROR_MARK] = true;
  readonly code = "USAGE";
  readonly exitCode = EXIT.usage;
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with its errors turned into one-line usage errors naming the command. */
export function parseCommandArgs<T extends Options>(
  command: string,
  argv: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains at length; its first sentence is the message.
    const message = (error instanceof Error ? error.message : String(error)).split(/\.\s/)[0] ?? "";
    const first = message.charAt(0).toLowerCase() + message.slice(1);
    throw new UsageError(`${command}: ${first.trim()} (llem ${command} --help)`);
  }
}

/** Exactly `count` positional arguments, named for the message when they are missing or extra. */
export function expectPositionals(
  command: string,
  positionals: string[],
  names: string[],
): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(
      `${command}: missing ${names
        .slice(positionals.length)
        .map((name) => `<${name}>`)
        .join(" ")} (llem ${command} --help)`,
    );
  }
  if (positionals.length > names.length) {
    throw new UsageError(
      `${command}: unexpected argument "${positionals[names.length]}" (llem ${command} --help)`,
    );
  }
  return positionals;
}

/** One or more positionals (e.g. study dirs from a shell glob). */
export function expectSomePositionals(
  command: string,
  positionals: string[],
  name: string,
): string[] {
  if (positionals.length === 0) {
    throw new UsageError(`${command}: missing <${name}> (llem ${command} --help)`);
  }
  return positionals;
}
