import { describe, expect, test } from "vitest";
import { StreamWindow } from "../src/stream-window.js";

describe("a stream's send window", () => {
  test("sends up to the credit, holds the rest in order, and sends as much as each grant allows", () => {
    const sent: number[] = [];
    const window = new StreamWindow<number>(3, (n) => sent.push(n));
    for (let n = 1; n <= 3_000; n += 1) window.offer(n);
    expect([sent, window.heldBack]).toEqual([[1, 2, 3], 2_997]);
    window.grant(2);
    expect([sent.at(-1), window.heldBack]).toEqual([5, 2_995]);
    window.grant(2_000);
    expect([sent.length, window.heldBack]).toEqual([2_005, 995]);
    window.grant(10_000);
    expect([sent, window.heldBack]).toEqual([Array.from({ length: 3_000 }, (_, i) => i + 1), 0]);
    // Credit left over goes to the next records at once.
    window.offer(3_001);
    expect(sent.at(-1)).toBe(3_001);
  });

  test("a record offered while others wait queues behind them, even with credit", () => {
    const sent: string[] = [];
    const window = new StreamWindow<string>(0, (s) => sent.push(s));
    window.offer("a");
    window.grant(1);
    window.offer("b");
    window.offer("c");
    expect([sent, window.heldBack]).toEqual([["a"], 2]);
  });
});
