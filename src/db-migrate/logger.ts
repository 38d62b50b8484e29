/**
 * Logger-like sink, so the engine does not depend on @actions/core.
 * `logger` from src/lib/action.ts fits (it already redacts).
 */
export interface Logger {
  info(message: string): void
  warning(message: string): void
  debug?(message: string): void
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { info() {}, warning() {}, debug() {} }
