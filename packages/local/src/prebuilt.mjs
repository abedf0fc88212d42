/**
 * Prebuilt JavaScript for the CLIs and the handlers the local runtime loads: esbuild bundles
 * them once, and again only when one of their sources (or the lockfile) changed, so a command
 * starts on plain Node without a TypeScript loader in memory. Plain JavaScript itself: the
 * launcher (scripts/run.mjs) runs it before anything is built.
 *
 * The bundles are written to packages/local/dist/: the emulators (dynalite, kinesalite) stay
 * out of them (they load native and per-action modules by path) and resolve from there, as
 * this package's own dependencies.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the bundles go, under the repository root. */
export const DIST = join("packages", "local", "dist");

/** Packages left out of every bundle, loaded from this package's node_modules at run time. */
const EXTERNAL = ["dynalite", "kinesalite", "esbuild"];

/**
 * Builds `entries` (output name -> source file) into DIST/<group>/ unless the last build of
 * the group is newer than each of its sources; `options.onBuild` is called before a build starts;
 * `options.splitting` puts the code the entries share in chunks of their own.
 * Returns the output paths by name.
 */
export async function prebuild(group, entries, root, options = {}) {
  const outdir = join(root, DIST, group);
  const stampFile = join(outdir, "inputs.json");
  const outputs = Object.fromEntries(Object.keys(entries).map((name) => [name, join(outdir, `${name}.mjs`)]));
  if (fresh(stampFile, entries, root)) return outputs;
  options.onBuild?.();

  const { build } = await import("esbuild");
  // Built aside and moved in file by file: a concurrent run never loads a half-written bundle.
  const staging = join(outdir, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: entries,
    outdir: staging,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    // Entries that share modules may put them in chunks of their own: a process loading several compiles them once.
    splitting: options.splitting ?? false,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL,
    sourcemap: "linked",
    metafile: true,
    logLevel: "error",
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
  });
  // Chunks (content-hashed names) before the entries that import them.
  const outputFiles = Object.entries(result.metafile.outputs).sort(
    ([, a], [, b]) => Number(Boolean(a.entryPoint)) - Number(Boolean(b.entryPoint)),
  );
  for (const [file] of outputFiles) renameSync(resolve(file), join(outdir, relative(staging, resolve(file))));
  rmSync(staging, { recursive: true, force: true });
  const sources = Object.keys(result.metafile.inputs).filter((input) => !input.includes("node_modules/"));
  writeFileSync(stampFile, JSON.stringify({ root, entries, sources: sources.map((input) => resolve(input)) }));
  return outputs;
}

function fresh(stampFile, entries, root) {
  let stamp;
  let built;
  try {
    stamp = JSON.parse(readFileSync(stampFile, "utf8"));
    built = statSync(stampFile).mtimeMs;
  } catch {
    return false;
  }
  if (stamp.root !== root || JSON.stringify(stamp.entries) !== JSON.stringify(entries)) return false;
  // A dependency upgrade shows in the lockfile; our own code in the sources the bundle holds.
  for (const file of [...stamp.sources, join(root, "pnpm-lock.yaml"), fileURLToPath(import.meta.url)]) {
    try {
      if (statSync(file).mtimeMs > built) return false;
    } catch {
      return false;
    }
  }
  return true;
}
