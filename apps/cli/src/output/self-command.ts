import { accessSync, constants } from "node:fs";
import { delimiter, join, relative } from "node:path";

/**
 * How to run llem again, as this llem was run: hints say `llem run …`, but after the README's
 * set-up (a clone, `npx -y pnpm@10 llem …`) there is no `llem` on PATH, so a hint also gives the
 * command that works here:
 *
 *   `llem` on PATH                       → null (the hint's `llem …` works as printed)
 *   run as the repository's script       → "npx -y pnpm@10 llem"   (npm_lifecycle_event=llem)
 *   run as `node apps/cli/dist/cli.js`   → "node apps/cli/dist/cli.js" (relative to the cwd)
 */
export function workingLlemCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  if (onPath("llem", env)) return null;
  if (env.npm_lifecycle_event === "llem") return "npx -y pnpm@10 llem";
  const script = process.argv[1];
  if (!script) return null;
  const path = relative(process.cwd(), script);
  return `node ${path.startsWith("..") ? script : path}`;
}

function onPath(name: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * A hint to run `llem <args>`: the command as documented, and on a second line, where `llem` is
 * not on PATH, the same command as it runs here.
 */
export function llemHint(args: string, indent = ""): string {
  const working = workingLlemCommand();
  const hint = `llem ${args}`;
  return working === null
    ? hint
    : `${hint}\n${indent}(llem is not on PATH here; as set up: ${working} ${args})`;
}
