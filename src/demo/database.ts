// A scratch database for the demo's db steps, on DATABASE_URL's server (default
// the local one), created fresh and dropped at the end; skipped when unreachable.
import pg from 'pg'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export function scratchDatabase(serverUrl = DEFAULT_DATABASE_URL) {
  const name = `shipgate_demo_${process.pid}`
  let created = false
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 })
    await c.connect()
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }
  return {
    async create(): Promise<{ url: string } | { skipped: string }> {
      try {
        await admin(c => c.query(`create database ${name}`))
      } catch (error) {
        return {
          skipped: `skipped: no Postgres reachable at ${redactUrl(serverUrl)} (${(error as Error).message}); set DATABASE_URL to a server where a scratch database may be created to run this step`
        }
      }
      created = true
      const u = new URL(serverUrl)
      u.pathname = `/${name}`
      return { url: u.toString() }
    },
    async drop(): Promise<void> {
      if (!created) return
      await admin(c => c.query(`drop database if exists ${name} with (force)`)).catch(() => {})
    }
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(DATABASE_URL)'
  }
}
