#!/usr/bin/env node
/**
 * The llem command. This entry point stays tiny: help and version print from static strings, and
 * each command's module (with @llem/study, engines, zod …) is imported only when that command runs.
 */
import { UsageError } from "./args.js";
import { reportError } from "./errors.js";
import { EXIT, exitCodeForError } from "./exit-codes.js";
import { COMMAND_HELP, COMMANDS, type CommandName, MAIN_HELP } from "./help.js";

declare const __LLEM_VERSION__: string;

type CommandHandler = (argv: string[]) => Promise<number>;

const handlers: Record<CommandName, () => Promise<CommandHandler>> = {
  run: async () => (await import("./commands/run.js")).runCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
  results: async () => (await import("./commands/results.js")).resultsCommand,
  report: async () => (await import("./commands/report.js")).reportCommand,
  validate: async () => (await import("./commands/validate.js")).validateCommand,
  doctor: async () => (await import("./commands/doctor.js")).doctorCommand,
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic && isCommand(topic)) process.stdout.write(COMMAND_HELP[topic]);
    else process.stdout.write(MAIN_HELP);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "-v" || first === "--version") {
    process.stdout.write(`llem ${__LLEM_VERSION__}\n`);
    return EXIT.ok;
  }
  if (!isCommand(first)) {
    const guess = first.startsWith("-") ? undefined : closestCommand(first);
    throw new UsageError(
      `unknown ${first.startsWith("-") ? "option" : "command"} "${first}"${guess ? `; did you mean "${guess}"?` : ""}. Commands: ${COMMANDS.join(", ")} (llem --help)`,
    );
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    process.stdout.write(COMMAND_HELP[first]);
    return EXIT.ok;
  }
  const handler = await handlers[first]();
  return handler(rest);
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** The command within two edits of `name` (a typo), if there is one. */
function closestCommand(name: string): string | undefined {
  let best: { command: string; distance: number } | undefined;
  for (const command of COMMANDS) {
    const distance = editDistance(name, command);
    if (distance <= 2 && (!best || distance < best.distance)) best = { command, distance };
  }
  return best?.command;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    reportError(error);
    process.exitCode = exitCodeForError(error);
  },
);
