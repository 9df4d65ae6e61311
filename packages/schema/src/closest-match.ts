/**
 * "Did you mean": the one edit-distance helper of llem, for unknown keys in configs and unknown
 * commands of the CLI. Pure and dependency-free (the CLI's error path imports it without zod).
 */

/**
 * The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to be
 * a typo: at most half the word's length, between 1 and 3 edits.
 *
 *   closestMatch("bacth_size", ["batch_size", "threads"]) → "batch_size"
 *   closestMatch("x", ["batch_size"])                     → undefined
 */
export function closestMatch(
  word: string,
  candidates: readonly string[],
  maxDistance = Math.max(1, Math.min(3, Math.floor(word.length / 2))),
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions, each costing 1. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
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
