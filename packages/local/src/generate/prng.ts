/**
 * A small seeded PRNG (mulberry32) and the draws the generator needs. Our own, so the same seed
 * gives the same files on every machine and Node version (Math.random cannot be seeded).
 */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max]. */
export function intBetween(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One of the values, drawn by weight. */
export function weighted<T>(random: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let draw = random() * total;
  for (const [value, weight] of choices) {
    draw -= weight;
    if (draw < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

/** A copy of the items in a random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A 10-hex-digit id, like the real exports', unique per index for a given seed: a 4-round
 * Feistel network over 40 bits is a bijection whatever its round function.
 */
export function hexIdOf(seed: number, index: number): string {
  let left = Math.floor(index / 0x100000) & 0xfffff;
  let right = index & 0xfffff;
  for (let round = 0; round < 4; round += 1) {
    let h = Math.imul(right ^ seed, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h ^= h >>> 15;
    [left, right] = [right, (left ^ h) & 0xfffff];
  }
  return (left * 0x100000 + right).toString(16).padStart(10, "0");
}
