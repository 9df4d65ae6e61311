import { optionalDependencies } from "../package.json";

/**
 * koffi (NVML) and node-llama-cpp (the llamacpp engine) are optional dependencies of
 * @llem/backends: installed by default, left out by `npm install --omit=optional`, and imported
 * lazily, only when a sampler or engine needs them. These helpers turn "not installed" into a
 * message that names the package and the command that installs it.
 */
export type OptionalDependency = keyof typeof optionalDependencies;

/**
 * Whether `error`, thrown by `import(name)`, says that package itself is not installed
 * ("Cannot find package 'name' imported from …") — not that it is installed and failed to load
 * (a missing native binary, or a missing dependency of its own: "Cannot find package 'other'").
 */
export function isMissingPackage(error: unknown, name: OptionalDependency): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === "ERR_MODULE_NOT_FOUND" && typeof message === "string" && message.includes(`'${name}'`)
  );
}

/** `npm install name@range`, with the range @llem/backends was released against. */
export function installCommand(name: OptionalDependency): string {
  return `npm install ${name}@${optionalDependencies[name]}`;
}

/** "`neededFor` needs X, which is not installed …": what needs it, why it is missing, the fix. */
export function missingPackageMessage(name: OptionalDependency, neededFor: string): string {
  return `${neededFor} needs ${name}, which is not installed (an optional dependency of @llem/backends, left out by --omit=optional or --no-optional): install it with \`${installCommand(name)}\``;
}
