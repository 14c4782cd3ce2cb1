/** The errors a command throws to end with a clear message and a given exit code. */

/** Exit codes: documented in `kyc-orchestrator --help`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  /** `onboard` finished, but some input lines were invalid and skipped. */
  invalidInput: 4,
  interrupted: 130,
} as const;

/** An error the user should see as one clear line (no stack trace), with its exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(message: string, readonly exitCode: number = EXIT.failure, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Wrong or missing arguments (exit 2); `hint` names the command whose help to read. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, readonly hint?: string) {
    super(message, EXIT.usage);
  }
}
