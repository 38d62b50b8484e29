/** A mistake in the user's configuration: reported as is, never as a bug. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError'
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
