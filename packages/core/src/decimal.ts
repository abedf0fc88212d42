/**
 * Exact, non-negative decimal arithmetic for money. Fares arrive with up to ~15 decimals and
 * must be summed exactly, so values are a BigInt of units at a given scale (10^-scale), never
 * a binary float. Rounding happens only when a value is formatted for output.
 */
export const DECIMAL_PATTERN = /^\d+(\.\d+)?$/;

export class Decimal {
  private constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  static readonly ZERO = new Decimal(0n, 0);

  /** Parses text matching DECIMAL_PATTERN; throws on anything else (callers validate first). */
  static parse(text: string): Decimal {
    if (!DECIMAL_PATTERN.test(text)) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
    const [whole, fraction = ""] = text.split(".");
    return new Decimal(BigInt(whole + fraction), fraction.length);
  }

  private rescale(scale: number): bigint {
    return this.units * 10n ** BigInt(scale - this.scale);
  }

  plus(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.rescale(scale) + other.rescale(scale), scale);
  }

  compare(other: Decimal): -1 | 0 | 1 {
    const scale = Math.max(this.scale, other.scale);
    const a = this.rescale(scale);
    const b = other.rescale(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** The exact quotient by a positive integer, rounded half-up to `places` decimals in one step. */
  dividedByToFixed(divisor: number, places: number): string {
    if (!Number.isInteger(divisor) || divisor <= 0) throw new RangeError(`bad divisor ${divisor}`);
    const d = BigInt(divisor);
    // value / divisor * 10^places, with the remainder deciding the half-up step.
    // Stryker disable next-line EqualityOperator: at places === scale both branches scale by 10^0, so > and >= agree.
    const numerator = places >= this.scale ? this.units * 10n ** BigInt(places - this.scale) : this.units;
    // Stryker disable next-line EqualityOperator: as above, places === scale gives d either way.
    const denominator = places >= this.scale ? d : d * 10n ** BigInt(this.scale - places);
    const quotient = numerator / denominator;
    const rounded = (numerator % denominator) * 2n >= denominator ? quotient + 1n : quotient;
    return formatUnits(rounded, places);
  }

  /** Half-up rounding to `places` decimals, as text (the only way money leaves the core). */
  toFixed(places = 2): string {
    return this.dividedByToFixed(1, places);
  }

  /** Canonical exact text: no trailing fractional zeros, no leading zeros. */
  toString(): string {
    let units = this.units;
    let scale = this.scale;
    while (scale > 0 && units % 10n === 0n) {
      units /= 10n;
      scale -= 1;
    }
    return formatUnits(units, scale);
  }
}

function formatUnits(units: bigint, scale: number): string {
  if (scale === 0) return units.toString();
  const digits = units.toString().padStart(scale + 1, "0");
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
