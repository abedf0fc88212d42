import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { type LocalServer, listen } from "../src/dynamo.js";
import { LocalFunction } from "../src/lambda.js";

let server: LocalServer;
let received: string[] = [];
const agent = new http.Agent({ keepAlive: true });

beforeAll(async () => {
  server = await listen(
    http.createServer((req, res) => {
      received.push(req.url!);
      res.end("ok");
    }),
  );
});
afterAll(async () => {
  agent.destroy();
  await server.close();
});
beforeEach(() => {
  received = [];
});

/** One HTTP request as an AWS SDK call makes it (through an agent). */
function call(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(`${server.endpoint}${path}`, { agent }, (res) => res.resume().on("end", resolve)).on("error", reject);
  });
}

const options = { region: "eu-north-1", timeoutMs: 2_000, unwindMs: 2_000 };

describe("local Lambda functions", () => {
  test("invoke the handler with a Lambda context and return its response", async () => {
    let seen: Context | undefined;
    const fn = new LocalFunction(
      "trip-pipeline-local-x",
      async (event, context) => {
        seen = context;
        return { echo: event };
      },
      options,
    );
    await expect(fn.invoke({ a: 1 })).resolves.toEqual({ echo: { a: 1 } });
    expect(seen).toMatchObject({
      functionName: "trip-pipeline-local-x",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:eu-north-1:000000000000:function:trip-pipeline-local-x",
      memoryLimitInMB: "1024",
    });
    expect(seen!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen!.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(seen!.getRemainingTimeInMillis()).toBeLessThanOrEqual(2_000);
  });

  test("an injected crash stops the invocation at a request: that request and every later one never leave", async () => {
    const fn = new LocalFunction(
      "crashy",
      async () => {
        for (let i = 1; i <= 5; i += 1) await call(`/r${i}`).catch(() => undefined);
        return "done";
      },
      { ...options, crashes: { rate: 1, seed: 11, maxRequests: 3 } },
    );
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      received = [];
      const error = (await fn.invoke({}).catch((e: Error) => e)) as Error;
      expect(error.name).toBe("Runtime.ExitError");
      outcomes.push(received.join(","));
      expect(received).toEqual(["/r1", "/r2", "/r3"].slice(0, received.length));
      expect(received.length).toBeLessThanOrEqual(3);
    }
    // The crash points vary (seeded): some invocations die before any request, some later.
    expect(new Set(outcomes).size).toBeGreaterThan(1);
    expect(fn.stats).toMatchObject({ invocations: 6, errors: 6, crashes: 6 });
  });

  test("a crash planned past the invocation's last request loses the reply after the work is done", async () => {
    const fn = new LocalFunction(
      "late-crash",
      async () => {
        await call("/only");
        return "done";
      },
      {
        ...options,
        crashes: { rate: 1, seed: 5, maxRequests: 50 },
      },
    );
    let crashedAfterWork = false;
    for (let i = 0; i < 10 && !crashedAfterWork; i += 1) {
      received = [];
      await expect(fn.invoke({})).rejects.toMatchObject({ name: "Runtime.ExitError" });
      crashedAfterWork = received.length === 1;
    }
    expect(crashedAfterWork).toBe(true);
  });

  test("a timed-out invocation fails and cannot reach AWS afterwards", async () => {
    const fn = new LocalFunction(
      "slow",
      async () => {
        await sleep(300);
        await call("/too-late");
        return "done";
      },
      { ...options, timeoutMs: 100 },
    );
    await expect(fn.invoke({})).rejects.toMatchObject({ name: "Sandbox.Timedout" });
    await sleep(400);
    expect(received).toEqual([]);
    expect(fn.stats.timeouts).toBe(1);
  });

  test("work a handler leaves running after its reply cannot reach AWS (the sandbox is frozen)", async () => {
    let background: Promise<unknown> | undefined;
    const fn = new LocalFunction(
      "leaky",
      async () => {
        background = sleep(50).then(() => call("/after-reply"));
        return "done";
      },
      options,
    );
    await fn.invoke({});
    await expect(background).rejects.toThrow(/has ended/);
    expect(received).toEqual([]);
  });
});
