// What a CLI command is, and the exit codes every command shares.
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Full help text (usage, options, examples). */
  help: string;
  run(args: string[]): Promise<number>;
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notRunning: 3,
  /** Refused OS prompt for a privileged step. */
  refused: 4,
  config: 78,
} as const;

export class UsageError extends Error {}
