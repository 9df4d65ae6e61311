/**
 * `@llem/schema/errors`: what error paths need, without zod — LlemError and its codes, and the
 * "did you mean" helper, and `printable` for what goes to a terminal — for paths that must stay
 * light (the CLI's usage errors).
 */
export { closestMatch, editDistance } from "./closest-match.js";
export { LlemError, type LlemErrorCode, type LlemErrorOptions } from "./errors.js";
export { printable, printableMessage } from "./printable.js";
