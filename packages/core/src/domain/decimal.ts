/**
 * Exact decimal arithmetic for money. Fares arrive with up to ~15 decimals and must be summed
 * exactly, so values are a BigInt of units at a given scale (10^-scale), never a binary float.
 * Rounding happens only when a value is formatted for output. Fares are non-negative; signed
 * values exist only for running totals that removals decrement (the live KPI aggregates).
 */
export const DECIMAL_PATTERN = /^\d+(\.\d+)?$/;
/** A number as DynamoDB may return it: signed, possibly in exponent notation. */
const NUMBER_PATTERN = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

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

  /** Parses a DynamoDB number's text ("-12.5", "1E-130"): exact, sign and exponent included. */
  static parseNumber(text: string): Decimal {
    const match = NUMBER_PATTERN.exec(text);
    if (!match) throw new RangeError(`not a number: ${JSON.stringify(text)}`);
    // Stryker disable next-line StringLiteral: an exponent default of "" is the same, Number("") is 0.
    const [, sign, whole, fraction = "", exponent = "0"] = match;
    const units = BigInt(`${sign}${whole}${fraction}`);
    const scale = fraction.length - Number(exponent);
    // Stryker disable next-line EqualityOperator: at scale 0 both branches build units * 10^0 at scale 0.
    return scale >= 0 ? new Decimal(units, scale) : new Decimal(units * 10n ** BigInt(-scale), 0);
  }

  negated(): Decimal {
    return new Decimal(-this.units, this.scale);
  }

  minus(other: Decimal): Decimal {
    return this.plus(other.negated());
  }

  get sign(): -1 | 0 | 1 {
    return this.units < 0n ? -1 : this.units > 0n ? 1 : 0;
  }

  private rescale(scale: number): bigint {
    return this.units * 10n ** BigInt(scale - this.scale);
  }

  plus(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.rescale(scale) + other.rescale(scale), scale);
  }

  /** Times a whole number (a count): exact. */
  times(factor: number): Decimal {
    return new Decimal(this.units * BigInt(factor), this.scale);
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
    // Half-up on the magnitude (half away from zero), so -x formats as the negation of x.
    if (this.units < 0n) return `-${this.negated().dividedByToFixed(divisor, places)}`;
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
  if (units < 0n) return `-${formatUnits(-units, scale)}`;
  if (scale === 0) return units.toString();
  const digits = units.toString().padStart(scale + 1, "0");
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
