/**
 * The vitest projects (vitest.config.ts) as vitest itself resolves them: every test file runs in
 * exactly one project, and `unit` stays fast because no unit file starts anything heavy.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createVitest, type Vitest } from "vitest/node";
import { EMULATOR_TESTS } from "../../vitest.config.js";

const ROOT = resolve(import.meta.dirname, "..", "..");

// What a unit file must not call: emulators, CLIs and browsers, stack synthesis.
const HEAVY =
  /\b(startEmulator|startLocalDynamoDb|startEmbeddedDynamoDb|startLocalKinesis|useLocalKinesis|kpiWorld|emulatedTable|synthesize|runCli)\s*\(|LocalAws\.start|node:child_process|playwright|new App\(/;

let vitest: Vitest;
const projectsOf = new Map<string, string[]>();

beforeAll(async () => {
  vitest = await createVitest("test", { config: join(ROOT, "vitest.config.ts"), root: ROOT, watch: false }, {}, {});
  for (const spec of await vitest.globTestSpecifications()) {
    const file = relative(ROOT, spec.moduleId);
    projectsOf.set(file, [...(projectsOf.get(file) ?? []), spec.project.name]);
  }
});
afterAll(() => vitest?.close());

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true });
  return entries.filter((name) => name.endsWith(".test.ts")).map((name) => join(dir, name));
}

async function allTestFiles(): Promise<string[]> {
  const packages = await readdir(join(ROOT, "packages"));
  const dirs = [...packages.map((name) => join("packages", name, "test")), "stacks/test", "scripts/test"];
  const found = await Promise.all(
    dirs.map((dir) =>
      testFiles(dir).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? [] : Promise.reject(error))),
    ),
  );
  return found.flat().sort();
}

test("every test file runs in exactly one project", async () => {
  const misplaced = (await allTestFiles())
    .map((file) => ({ file, projects: projectsOf.get(file) ?? [] }))
    .filter(({ projects }) => projects.length !== 1);
  expect(misplaced).toEqual([]);
});

test("no unit test file starts an emulator, a CLI, a browser or a synthesis", async () => {
  // This file names the heavy calls in HEAVY itself.
  const unit = [...projectsOf]
    .filter(([file, projects]) => projects.includes("unit") && file !== relative(ROOT, import.meta.filename))
    .map(([file]) => file);
  expect(unit.length).toBeGreaterThan(0);
  const heavy = [];
  for (const file of unit) if (HEAVY.test(await readFile(join(ROOT, file), "utf8"))) heavy.push(file);
  expect(heavy, "list these in EMULATOR_TESTS or E2E_TESTS in vitest.config.ts").toEqual([]);
});

test("every emulator pattern still names a suite", () => {
  const emulatorFiles = [...projectsOf].filter(([, projects]) => projects.includes("emulator")).map(([file]) => file);
  // A pattern left behind by a rename or deletion would exclude a future unit suite of that name.
  const stale = EMULATOR_TESTS.filter(
    (pattern) =>
      !emulatorFiles.some((file) => new RegExp(`/${pattern.split("/").at(-1)!.replaceAll(".", "\\.")}$`).test(file)),
  );
  expect(stale).toEqual([]);
});
