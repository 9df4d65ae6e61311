// Module resolve hooks registered by `forbidImportsArgs` (index.ts): resolving any of the
// forbidden packages, by name or by a file inside it, fails with an error that names it and its
// importer. A child process run with these hooks shows that a code path never loads a package.

/** @type {string[]} */
let forbidden = [];

/** @param {{ packages: string[] }} data */
export function initialize(data) {
  forbidden = data.packages;
}

/** @param {string} text */
function forbiddenIn(text) {
  return forbidden.find(
    (name) =>
      text === name || text.startsWith(`${name}/`) || text.includes(`/node_modules/${name}/`),
  );
}

/** @param {string} name @param {string} specifier @param {{ parentURL?: string }} context */
function refuse(name, specifier, context) {
  return new Error(
    `forbidden import of ${name}: "${specifier}" from ${context.parentURL ?? "(entry)"}`,
  );
}

export async function resolve(specifier, context, nextResolve) {
  const named = forbiddenIn(specifier);
  if (named) throw refuse(named, specifier, context);
  const resolved = await nextResolve(specifier, context);
  const inside = forbiddenIn(resolved.url);
  if (inside) throw refuse(inside, specifier, context);
  return resolved;
}
