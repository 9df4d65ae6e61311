import type { StudyExecution } from "@llem/schema";
import { seededRandom, shuffleInPlace } from "@llem/schema";

export type ExperimentOrder = StudyExecution["experiment_order"];

/** One slot of the run order: which unique config (declared index) and which cycle (1-based). */
export interface OrderedSlot {
  configIndex: number;
  cycle: number;
}

/**
 * The seed of the shuffle: `shuffle_seed` when given, else the low 32 bits of the study design
 * hash (as the Python tool derives it), so that a study always shuffles the same way and topping
 * it up with cycles keeps the earlier cycles' order.
 */
export function shuffleSeed(execution: Pick<StudyExecution, "shuffle_seed">, designHash: string) {
  if (execution.shuffle_seed !== null) return execution.shuffle_seed;
  return Number.parseInt(designHash.slice(-8), 16) >>> 0;
}

/**
 * Row `row` of the Williams-style square used for latin_square ordering (as in the Python tool):
 * column 0 is `row`, odd columns step forward, even columns step back.
 */
export function latinSquareRow(row: number, size: number): number[] {
  const cells: number[] = new Array(size);
  for (let column = 0; column < size; column++) {
    let value: number;
    if (column === 0) value = row;
    else if (column % 2 === 1) value = row + (column + 1) / 2;
    else value = row - column / 2;
    cells[column] = ((value % size) + size) % size;
  }
  return cells;
}

/**
 * Orders `configCount` unique configs over `nCycles` cycles. Every ordering visits each config
 * exactly once per cycle except `sequential`, which runs all cycles of a config back to back;
 * the k-th occurrence of a config is its cycle k in every mode.
 *
 * - sequential:   A A A B B B
 * - interleave:   A B A B A B
 * - reverse:      A B B A A B (odd cycles reversed, to cancel drift that follows position)
 * - latin_square: cycle c runs row c mod k of a Williams-style square
 * - shuffle:      each cycle an independent seeded permutation (one generator across cycles)
 */
export function orderRuns(
  configCount: number,
  nCycles: number,
  order: ExperimentOrder,
  seed: number,
): OrderedSlot[] {
  const slots: OrderedSlot[] = [];
  if (configCount === 0) return slots;
  const identity = Array.from({ length: configCount }, (_, index) => index);
  if (order === "sequential") {
    for (const configIndex of identity) {
      for (let cycle = 1; cycle <= nCycles; cycle++) slots.push({ configIndex, cycle });
    }
    return slots;
  }
  const random = order === "shuffle" ? seededRandom(seed) : undefined;
  for (let cycle = 1; cycle <= nCycles; cycle++) {
    let row: number[];
    switch (order) {
      case "interleave":
        row = identity;
        break;
      case "reverse":
        row = cycle % 2 === 1 ? identity : [...identity].reverse();
        break;
      case "latin_square":
        row = latinSquareRow((cycle - 1) % configCount, configCount);
        break;
      case "shuffle":
        row = shuffleInPlace([...identity], random!);
        break;
    }
    for (const configIndex of row) slots.push({ configIndex, cycle });
  }
  return slots;
}
