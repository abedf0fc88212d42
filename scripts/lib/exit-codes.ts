/**
 * The exit codes of every command, defined here only: the help texts print them from this table
 * and the README documents them once. A script can tell "it ran and found something" (2) from
 * "it could not run" (1) and "it was called wrongly" (64, sysexits' EX_USAGE; 2 is taken).
 */
export const EXIT = {
  /** Done: everything the command was asked to do happened. */
  done: 0,
  /** Could not run or stopped: a missing or unreadable file, no credentials, a busy port, an AWS error. */
  error: 1,
  /** Done, but with failures the command's help names (rows undelivered, batches left, ...). */
  failures: 2,
  /** Called wrongly: an unknown option, a missing or malformed value. */
  usage: 64,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes section of a help text; `failures` says what exit code 2 means for the command (absent: it never exits 2). */
export function exitCodeLines(failures: string | undefined): [string, string][] {
  return [
    [String(EXIT.done), "done"],
    ...(failures === undefined ? [] : ([[String(EXIT.failures), `done, but ${failures}`]] as [string, string][])),
    [String(EXIT.error), "error: the command could not run (the message names the file, flag or service)"],
    [String(EXIT.usage), "usage error: an unknown option or a missing or malformed value"],
  ];
}
