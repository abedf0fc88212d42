import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { mapWithConcurrency } from "@trip-pipeline/core/platform/concurrency";
import { backoffDelay, type RetryPolicy } from "@trip-pipeline/core/platform/retry";
import type { WriteRequest } from "@trip-pipeline/core/store/write-request";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startEmulator, type TestTable } from "../support/test-table.js";

let emulator: Awaited<ReturnType<typeof startEmulator>>;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

const fast: RetryPolicy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const put = (trip_id: string): WriteRequest => ({ PutRequest: { Item: { trip_id, sort_key: "COMPLETED#x", n: 1 } } });

async function tripIds(table: TestTable): Promise<string[]> {
  return (await table.items()).map((item) => String(item.trip_id)).sort();
}

describe("writeAll", () => {
  test("writes more than one BatchWriteItem's worth and retries unprocessed items until they go through", async () => {
    const table = await emulator.newTable();
    const seen = new Map<string, number>();
    // t3 and t40 stay unprocessed for their first two attempts.
    table.throttle((item) => {
      const id = String(item.trip_id);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return (id === "t3" || id === "t40") && seen.get(id)! <= 2;
    });
    const requests = Array.from({ length: 60 }, (_, i) => put(`t${i}`));
    expect(await table.store.writeAll(requests, fast)).toEqual([]);
    expect(await tripIds(table)).toHaveLength(60);
    expect(seen.get("t3")).toBe(3);
    expect(seen.get("t0")).toBe(1);
  });

  test("gives up after the policy's attempts and returns exactly the items still unprocessed", async () => {
    const table = await emulator.newTable();
    let calls = 0;
    table.afterCall = async (command) => {
      if (command === "BatchWriteItemCommand") calls += 1;
    };
    table.throttle((item) => item.trip_id === "hot");
    const failures = await table.store.writeAll([put("a"), put("hot"), put("b")], fast);
    expect(failures).toEqual([{ request: put("hot"), reason: "unprocessed after 4 attempts" }]);
    expect(calls).toBe(4);
    expect(await tripIds(table)).toEqual(["a", "b"]);
  });

  test("a chunk whose call fails returns its own requests only", async () => {
    const table = await emulator.newTable();
    table.client.middlewareStack.add(
      ((
        next: (args: {
          input: { RequestItems?: Record<string, { PutRequest: { Item: { trip_id: string } } }[]> };
        }) => Promise<unknown>,
      ) =>
        async (args: { input: { RequestItems?: Record<string, { PutRequest: { Item: { trip_id: string } } }[]> } }) => {
          const first = Object.values(args.input.RequestItems ?? {})[0]?.[0];
          if (first?.PutRequest.Item.trip_id === "t25")
            throw Object.assign(new Error("boom"), { name: "InternalServerError" });
          return next(args);
        }) as never,
      { step: "initialize" },
    );
    const requests = Array.from({ length: 30 }, (_, i) => put(`t${i}`));
    const failures = await table.store.writeAll(requests, fast);
    expect(failures.map((f) => f.request)).toEqual(requests.slice(25));
    expect(failures[0]!.reason).toBe("InternalServerError: boom");
    expect(await tripIds(table)).toHaveLength(25);
  });
});

describe("writeAll isolates an item DynamoDB refuses", () => {
  test("a number out of DynamoDB's range fails its 25-item call with a ValidationException: the call is retried item by item, the offender returned as rejected, the other 29 stored", async () => {
    const table = await emulator.newTable();
    const requests = Array.from({ length: 30 }, (_, i) => put(`t${i}`));
    requests[7] = {
      PutRequest: { Item: { trip_id: "t7", sort_key: "COMPLETED#x", n: NumberValue.from(`1${"0".repeat(126)}`) } },
    };
    const failures = await table.store.writeAll(requests, fast);
    expect(failures).toEqual([
      { request: requests[7], reason: expect.stringMatching(/^ValidationException/), rejected: true },
    ]);
    expect(await tripIds(table)).toHaveLength(29);
  });
});

describe("backoffDelay", () => {
  test("grows exponentially up to the cap, with jitter below it", () => {
    const policy = { attempts: 10, baseDelayMs: 50, maxDelayMs: 2_000 };
    const samples = (attempt: number) => Array.from({ length: 200 }, () => backoffDelay(policy, attempt));
    expect(Math.max(...samples(0))).toBeLessThanOrEqual(50);
    expect(Math.max(...samples(3))).toBeLessThanOrEqual(400);
    expect(Math.max(...samples(3))).toBeGreaterThan(50);
    expect(Math.max(...samples(9))).toBeLessThanOrEqual(2_000);
    expect(Math.min(...samples(9))).toBeGreaterThanOrEqual(0);
  });
});

describe("mapWithConcurrency", () => {
  test("keeps input order and never exceeds the limit", async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight -= 1;
      return n * 10;
    });
    expect(result).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
