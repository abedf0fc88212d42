/**
 * The one format of every command's `--help`: usage, what it does, the options with their
 * descriptions in one column (the same column in every command), notes, the exit codes.
 */
import { exitCodeLines } from "./exit-codes.js";

export interface Help {
  /** How the command is started, e.g. "pnpm start". */
  command: string;
  /** What follows the command on each usage line. */
  synopsis: readonly string[];
  /** What the command does. */
  about: string;
  /** [flags, description]; a string alone starts a group of options under that heading. */
  options: readonly (readonly [string, string] | string)[];
  /** A paragraph after the options. */
  notes?: string;
  /** What exit code 2 means for this command; absent when it never exits 2. */
  failures?: string;
}

/** Where every option's description starts (the exit codes' meanings: EXIT_COLUMN), and how wide the text is. */
const COLUMN = 32;
const EXIT_COLUMN = 7;
const WIDTH = 100;

/** `text` in lines of at most WIDTH characters: the first after `lead`, the others indented by `indent`. */
function wrap(text: string, lead: string, indent: number): string {
  const lines: string[] = [];
  let line = lead;
  let fresh = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(indent);
      fresh = true;
    }
    line += fresh ? word : ` ${word}`;
    fresh = false;
  }
  lines.push(line);
  return lines.join("\n");
}

/** A term and its description from `column` on (the next line when the term is too long for it). */
function entry(term: string, description: string, column: number): string {
  const lead = `  ${term}`;
  return lead.length + 2 > column
    ? `${lead}\n${wrap(description, " ".repeat(column), column)}`
    : wrap(description, lead.padEnd(column), column);
}

export function formatHelp(help: Help): string {
  const usage = help.synopsis
    .map((line, i) => `${i === 0 ? "usage: " : "       "}${help.command} ${line}`.trimEnd())
    .join("\n");
  const firstHeading = help.options.findIndex((option) => typeof option === "string");
  const options = [...help.options];
  // --help ends the first group: every command answers it the same way.
  options.splice(firstHeading < 0 ? options.length : firstHeading, 0, [
    "--help",
    "print this help and exit (nothing else runs)",
  ]);
  const groups: string[] = [];
  let group = "options:";
  for (const option of options) {
    if (typeof option === "string") {
      groups.push(group);
      group = wrap(option, "", 0);
    } else group += `\n${entry(option[0], option[1], COLUMN)}`;
  }
  groups.push(group);
  const exits = [
    "exit codes:",
    ...exitCodeLines(help.failures).map(([code, meaning]) => entry(code, meaning, EXIT_COLUMN)),
  ].join("\n");
  return (
    [usage, wrap(help.about, "", 0), ...groups, ...(help.notes ? [wrap(help.notes, "", 0)] : []), exits].join("\n\n") +
    "\n"
  );
}
