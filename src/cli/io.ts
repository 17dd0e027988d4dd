/** What a CLI command may touch, injected by the entry so that commands are tested in memory. */
export interface CliIo {
  readFile(file: string): string;
  readEnv(name: string): string | undefined;
  /**
   * The environment the gateway's settings are read from (`gateway/settings.ts`), for the commands
   * that show them. Absent (tests): no settings are shown.
   */
  settingsEnv?: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}
