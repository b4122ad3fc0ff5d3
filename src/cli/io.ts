/** What a CLI command may touch, passed in so commands can be run from tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Promise<string>;
}

export class UsageError extends Error {}
