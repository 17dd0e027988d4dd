/** What a CLI command may touch, injected by the entry so that commands are tested in memory. */
export interface CliIo {
  readFile(file: string): string;
  readEnv(name: string): string | undefined;
  stdout(text: string): void;
  stderr(text: string): void;
}
