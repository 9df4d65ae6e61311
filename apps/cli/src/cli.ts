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
  worker: async () => (await import("./commands/worker.js")).workerCommand,
  finalize: async () => (await import("./commands/finalize.js")).finalizeCommand,
  slurm: async () => (await import("./commands/slurm.js")).slurmCommand,
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
    const guess = first.startsWith("-") ? undefined : await closestCommand(first);
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

/** The command within two edits of `name` (a typo), if there is one. Only on this error path. */
async function closestCommand(name: string): Promise<string | undefined> {
  const { closestMatch } = await import("@llem/schema/errors");
  return closestMatch(name, COMMANDS, 2);
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
