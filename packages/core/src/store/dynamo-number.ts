/**
 * Whether DynamoDB can store a decimal exactly (the contract's fare domain): zero, or a
 * magnitude from 1E-130 up to but not including 1E126, with at most 38 significant digits.
 * DynamoDB refuses anything else with a ValidationException for the whole write, so
 * validation must refuse it first, with a reason.
 */
import { CONTRACT } from "../domain/contract.js";

const DOMAIN = CONTRACT.fare_domain;
export const MAX_SIGNIFICANT_DIGITS = DOMAIN.max_significant_digits;

/** Why DynamoDB cannot store this non-negative decimal text exactly, or undefined when it can. */
export function unstorableNumber(text: string): string | undefined {
  const [whole, fraction = ""] = text.split(".");
  const digits = `${whole}${fraction}`;
  const first = digits.search(/[1-9]/);
  if (first < 0) return undefined; // zero, however spelled
  const last =
    digits.length -
    1 -
    digits
      .split("")
      .reverse()
      .findIndex((d) => d !== "0");
  // Power of ten of the leading significant digit: 1.5 -> 0, 0.01 -> -2, 120 -> 2.
  const exponent = whole!.length - 1 - first;
  if (last - first + 1 > DOMAIN.max_significant_digits)
    return `has more than ${DOMAIN.max_significant_digits} significant digits`;
  if (exponent > DOMAIN.max_exponent) return `is 1E${DOMAIN.max_exponent + 1} or more`;
  if (exponent < DOMAIN.min_exponent) return `is below 1E${DOMAIN.min_exponent}`;
  return undefined;
}
