/**
 * A run that could not finish for a reason the user can act on (rounds failing for a round timeout
 * that is too short, a privacy budget spent): the CLIs report it without a stack trace, exit code 2
 * (cli-main.ts). Its message names the flag to change.
 */
export class RunFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailedError';
  }
}
