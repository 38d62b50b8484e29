/** Where every layer writes its log; each host backend redacts what it prints. */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
  error(message: string): void
  /** Runs `fn` inside a collapsible log group. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** What the database engine needs: it never raises errors through the log. */
export type EngineLogger = Pick<Logger, 'info' | 'warning'>

/** A logger that keeps nothing (for engines called without one). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warning: () => {},
  error: () => {},
  group: (_name, fn) => fn()
}
