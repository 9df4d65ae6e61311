export { expandStudy } from "./expand.js";
export { estimateDuration, type LoadStudyOptions, loadStudy } from "./load.js";
export { latinSquareRow, orderRuns, shuffleSeed } from "./order.js";
export { seededRandom, shuffleInPlace } from "./prng.js";
export type * from "./types.js";
