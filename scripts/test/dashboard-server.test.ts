/** The local dashboard server's edge: who it answers (Host header) and what a malformed path gets. */

import { mkdtemp, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { type DashboardServer, startDashboardServer } from "../lib/dashboard-server";

let server: DashboardServer;
let port: number;
beforeAll(async () => {
  const pageDir = await mkdtemp(join(tmpdir(), "dashboard-page-"));
  await writeFile(join(pageDir, "index.html"), "<!doctype html><title>t</title>");
  server = await startDashboardServer({
    repoRoot: resolve(import.meta.dirname, "..", ".."),
    port: 0,
    pageDir,
    pageReady: Promise.resolve(),
    runStatus: () => ({ done: false, pending: null, anomalies: null, latest_day: null }),
  });
  port = Number(new URL(server.url).port);
});
afterAll(() => server.close());

function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => done({ status: res.statusCode!, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

test("answers its own addresses, 127.0.0.1:PORT and localhost:PORT", async () => {
  expect((await get("/", `127.0.0.1:${port}`)).status).toBe(200);
  expect((await get("/api/run", `localhost:${port}`)).status).toBe(200);
});

test("refuses any other Host (a rebinding page's name, another port), page and API alike", async () => {
  for (const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`, "localhost", "127.0.0.1"]) {
    expect((await get("/api/run", host)).status, host).toBe(421);
    expect((await get("/", host)).status, host).toBe(421);
  }
});

test("a malformed path answers 400 and logs a line, not an unlogged 500", async () => {
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    const answer = await get("/%E0%A4%A", `127.0.0.1:${port}`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "bad_request" });
    expect(stderr.mock.calls.map(([line]) => String(line)).join("")).toMatch(
      /dashboard: 400 malformed path "\/%E0%A4%A"/,
    );
  } finally {
    stderr.mockRestore();
  }
});
