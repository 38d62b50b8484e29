/** Where library code writes; `logger` in action.ts maps it onto @actions/core (redacted). */
export interface Logger {
  info(message: string): void
  warning(message: string): void
  error(message: string): void
}

/** What the database engine needs: it never raises errors through the log. */
export type EngineLogger = Pick<Logger, 'info' | 'warning'>
