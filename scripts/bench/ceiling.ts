/**
 * The emulators' ceiling for two exports, alone in a process of its own (`node scripts/run.mjs
 * bench-ceiling --start-file F --end-file F [--in-process]`): one JSON line on stdout. The
 * pipeline benchmark runs it apart from the run it measures, because the ceiling holds every
 * request in memory before its clock starts, far beyond what `pnpm start`'s heaps are sized for.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureCeiling } from "@trip-pipeline/local/ceiling";
import { parseCli, runWhenMain, UsageError } from "../lib/cli.js";
import { EXIT } from "../lib/exit-codes.js";

export const launch = runWhenMain(
  import.meta.url,
  {
    command: "node scripts/run.mjs bench-ceiling",
    synopsis: ["--start-file F --end-file F [--in-process] [--on-disk]"],
    about:
      "The minimum emulator calls for the two exports, on fresh emulators, one thread: one JSON line on stdout (what `pnpm bench` compares a run with).",
    options: [
      ["--start-file F, --end-file F", "the exports"],
      ["--in-process", "DynamoDB reached as the local AWS reaches it (no HTTP), instead of over HTTP"],
      [
        "--on-disk",
        "the table and the stream in LevelDB folders (in a temporary folder), as `pnpm start --on-disk` keeps them",
      ],
    ],
  },
  async (argv) => {
    const options = parseCli(argv, {
      "start-file": { type: "string" },
      "end-file": { type: "string" },
      "in-process": { type: "boolean", default: false },
      "on-disk": { type: "boolean", default: false },
    });
    if (!options["start-file"] || !options["end-file"])
      throw new UsageError("--start-file and --end-file are required");
    const storageDir = options["on-disk"] ? await mkdtemp(join(tmpdir(), "trip-ceiling-")) : undefined;
    try {
      const ceiling = await measureCeiling(options["start-file"], options["end-file"], {
        dynamodb: options["in-process"] ? "in-process" : "http",
        storageDir,
      });
      process.stdout.write(`${JSON.stringify(ceiling)}\n`);
      return EXIT.done;
    } finally {
      if (storageDir) await rm(storageDir, { recursive: true, force: true });
    }
  },
);
