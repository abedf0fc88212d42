import { expect, test } from "vitest";
import { EXIT } from "../lib/exit-codes.js";
import { formatHelp } from "../lib/help.js";

test("usage, about, options in one column (a long term on its own line), --help, groups, notes, exit codes", () => {
  const text = formatHelp({
    command: "pnpm demo",
    synopsis: ["--a N", "--b"],
    about: "Does a demo.",
    options: [
      ["--a N", "the a"],
      ["--a-very-long-option-name VALUE", "described below it"],
      "more options:",
      ["--b", "the b"],
    ],
    notes: "A note.",
    failures: "something was left",
  });
  expect(text).toBe(
    [
      "usage: pnpm demo --a N",
      "       pnpm demo --b",
      "",
      "Does a demo.",
      "",
      "options:",
      "  --a N                         the a",
      "  --a-very-long-option-name VALUE",
      "                                described below it",
      "  --help                        print this help and exit (nothing else runs)",
      "",
      "more options:",
      "  --b                           the b",
      "",
      "A note.",
      "",
      "exit codes:",
      `  ${EXIT.done}    done`,
      `  ${EXIT.failures}    done, but something was left`,
      `  ${EXIT.error}    error: the command could not run (the message names the file, flag or service)`,
      `  ${EXIT.usage}   usage error: an unknown option or a missing or malformed value`,
      "",
    ].join("\n"),
  );
});

test("descriptions wrap at 100 characters under their column; a command that never exits 2 does not list it", () => {
  const text = formatHelp({ command: "pnpm demo", synopsis: [""], about: "x", options: [["--a", "word ".repeat(40)]] });
  const lines = text.split("\n");
  expect(lines[0]).toBe("usage: pnpm demo");
  const described = lines.filter((line) => line.includes("word"));
  expect(described.length).toBeGreaterThan(1);
  for (const line of described) expect(line.length).toBeLessThanOrEqual(100);
  for (const line of described.slice(1)) expect(line).toMatch(/^ {32}word/);
  expect(text).not.toContain("done, but");
});
