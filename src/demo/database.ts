// Scratch databases for the demo's db steps, on DATABASE_URL's server (default
// the local one), created fresh and dropped at the end; skipped when unreachable.
import pg from 'pg'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export type Scratch = { url: string } | { skipped: string }

export function scratchDatabases(serverUrl = DEFAULT_DATABASE_URL) {
  const created: string[] = []
  const connect = async <T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    await c.connect()
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }
  return {
    /** A new empty database (`shipgate_demo_<pid>_<suffix>`), with `sql` run in it. */
    async create(suffix: string, sql = ''): Promise<Scratch> {
      const name = `shipgate_demo_${process.pid}_${suffix}`
      try {
        await connect(serverUrl, c => c.query(`create database ${name}`))
      } catch (error) {
        return {
          skipped: `skipped: no Postgres reachable at ${shown(serverUrl)} (${(error as Error).message}); set DATABASE_URL to a server where scratch databases may be created to run these steps`
        }
      }
      created.push(name)
      const u = new URL(serverUrl)
      u.pathname = `/${name}`
      const url = u.toString()
      if (sql) await connect(url, c => c.query(sql))
      return { url }
    },
    async dropAll(): Promise<void> {
      for (const name of created.splice(0))
        await connect(serverUrl, c =>
          c.query(`drop database if exists ${name} with (force)`)
        ).catch(() => {})
    }
  }
}

function shown(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(DATABASE_URL)'
  }
}
