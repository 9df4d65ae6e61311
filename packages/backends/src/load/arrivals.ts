import { deriveSeed, type SeededRandom, seededRandom } from "@llem/schema";

export type Arrival = "constant" | "poisson" | "gamma";

export interface ArrivalOptions {
  /** Mean requests per second. */
  rate: number;
  arrival: Arrival;
  /** Shape of gamma gaps (1 = exponential); ignored by the other arrivals. */
  burstiness?: number;
  /** The experiment's seed: the same seed gives the same schedule on every machine. */
  seed: number;
}

/**
 * When each of `count` requests of an open loop is due, in ms from the start: the first at 0,
 * then one gap per request drawn from the arrival process. Every process has mean gap 1/rate:
 *
 *   constant  every gap exactly 1000/rate ms
 *   poisson   exponential gaps (a Poisson process)
 *   gamma     gamma gaps of shape k = burstiness, scale 1000/(rate·k): k < 1 burstier than
 *             Poisson, k > 1 more even, k = 1 is Poisson (as vLLM's `--burstiness`)
 *
 * Seeded by llem's PRNG (a stream of its own derived from the experiment's seed), so a schedule
 * is reproducible exactly.
 */
export function arrivalSchedule(count: number, options: ArrivalOptions): number[] {
  const meanGapMs = 1000 / options.rate;
  const random = seededRandom(deriveSeed(options.seed, "workload.arrivals"));
  const shape = options.arrival === "gamma" ? (options.burstiness ?? 1) : 1;
  const times: number[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    times.push(at);
    if (options.arrival === "constant") at += meanGapMs;
    else at += (gammaSample(random, shape) / shape) * meanGapMs;
  }
  return times;
}

/** A uniform draw in (0, 1): never 0, so logarithms stay finite. */
function openUnit(random: SeededRandom): number {
  return (random.nextUint32() + 0.5) / 2 ** 32;
}

/** A standard normal draw (Box–Muller). */
function normalSample(random: SeededRandom): number {
  return Math.sqrt(-2 * Math.log(openUnit(random))) * Math.cos(2 * Math.PI * openUnit(random));
}

/**
 * A Gamma(shape, 1) draw: Marsaglia & Tsang (2000) for shape ≥ 1; for shape < 1 the boost
 * Gamma(shape + 1) · U^(1/shape). Shape 1 is the exponential distribution, drawn directly.
 */
export function gammaSample(random: SeededRandom, shape: number): number {
  if (shape === 1) return -Math.log(openUnit(random));
  if (shape < 1) return gammaSample(random, shape + 1) * openUnit(random) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalSample(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = openUnit(random);
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
