import { type ParseArgsConfig, parseArgs } from "node:util";
import { LlemError } from "@llem/schema/errors";

/**
 * A usage error: an LlemError with code USAGE, so the one exit-code table applies to it. It comes
 * from `@llem/schema/errors` (no zod), so raising one loads nothing heavy.
 */
export class UsageError extends LlemError {
  constructor(message: string) {
    super("USAGE", message);
  }
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
