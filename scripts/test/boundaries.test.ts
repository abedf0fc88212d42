/**
 * What keeps the domain free of the emulator and the configuration in one place: no global hooks
 * between packages (dependencies are passed in), no framework-private variable names written by
 * hand where we configure functions, and no package depending on one that depends on it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");
const SKIP = new Set(["node_modules", "dist", "cdk.out", ".sst"]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|mts|mjs|js)$/.test(name) && !name.split("/").some((part) => SKIP.has(part)))
    .map((name) => join(dir, name));
}

function filesContaining(dirs: readonly string[], pattern: RegExp): string[] {
  return dirs.flatMap(sources).filter((file) => pattern.test(readFileSync(join(ROOT, file), "utf8")));
}

const WORKSPACE = ["packages/core", "packages/functions", "packages/local", "packages/web"];
type Manifest = { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const manifests: Manifest[] = [".", ...WORKSPACE].map(
  (dir) => JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as Manifest,
);
const workspaceDeps = (m: Manifest) =>
  Object.keys({ ...m.dependencies, ...m.devDependencies }).filter((name) => name.startsWith("@trip-pipeline/"));

describe("boundaries", () => {
  test("no process-wide hooks (Symbol.for) between packages: the runtimes pass clients, transports and log destinations in", () => {
    expect(
      filesContaining(
        ["packages/core/src", "packages/functions/src", "packages/local/src", "scripts", "stacks"],
        /Symbol\.for\(/,
      ),
    ).toEqual([]);
  });

  test("no SST-private variable name written by hand where functions are configured (stacks, the local runtime)", () => {
    expect(filesContaining(["stacks", "packages/local"], /\bSST_/)).toEqual([]);
  });

  test("no workspace package depends on one that depends on it; core depends on none of ours", () => {
    const byName = new Map(manifests.map((m) => [m.name, m]));
    const core = byName.get("@trip-pipeline/core")!;
    expect(workspaceDeps(core)).toEqual([]);
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      workspaceDeps(byName.get(from)!).some((dep) => {
        if (dep === to) return true;
        if (seen.has(dep)) return false;
        seen.add(dep);
        return reaches(dep, to, seen);
      });
    const cycles = [...byName.keys()].filter((name) => reaches(name, name));
    expect(cycles).toEqual([]);
  });

  test("the local runtime reaches the handlers through the functions package's declared entries", () => {
    const local = byName("@trip-pipeline/local");
    expect(local.dependencies).toHaveProperty("@trip-pipeline/functions", "workspace:*");
    // Only the loader maps the stacks' handler paths to those entries.
    expect(filesContaining(["packages/local/src"], /packages\/functions\/src/)).toEqual([
      "packages/local/src/lambda.ts",
    ]);
  });
});

function byName(name: string): Manifest {
  return manifests.find((m) => m.name === name)!;
}
