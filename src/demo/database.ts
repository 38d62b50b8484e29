// Scratch databases for the demo's db steps, on DATABASE_URL's server (default the
// local one): `shipgate_demo_<name>`, created on first use and emptied before and
// after every run (DROP DATABASE forces a checkpoint, seconds on a busy server).
// An advisory lock keeps two demos from sharing them at once. Skipped when unreachable.
import pg from 'pg'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export type Scratch = { url: string } | { skipped: string }

const LOCK = 7_421_001

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  await c.connect()
  return c
}

/** Drops every schema the run created (the database stays, empty). */
async function empty(url: string): Promise<void> {
  const c = await connect(url)
  try {
    const { rows } = await c.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'"
    )
    for (const r of rows) await c.query(`drop schema ${pg.escapeIdentifier(r.nspname)} cascade`)
    await c.query('create schema public')
  } finally {
    await c.end()
  }
}

export function scratchDatabases(serverUrl = DEFAULT_DATABASE_URL) {
  const used: string[] = []
  let admin: pg.Client | undefined
  const urlOf = (name: string): string => {
    const u = new URL(serverUrl)
    u.pathname = `/${name}`
    return u.toString()
  }
  return {
    /** An empty database `shipgate_demo_<name>`, with `sql` run in it. */
    async create(name: string, sql = ''): Promise<Scratch> {
      const db = `shipgate_demo_${name}`
      try {
        if (!admin) {
          admin = await connect(serverUrl)
          // Another demo holds them for a few seconds at most.
          await admin.query("set lock_timeout = '60s'")
          await admin.query('select pg_advisory_lock($1)', [LOCK])
        }
        const exists = await admin.query('select 1 from pg_database where datname = $1', [db])
        if (exists.rowCount === 0) await admin.query(`create database ${db}`)
      } catch (error) {
        return {
          skipped: `skipped: no Postgres reachable at ${shown(serverUrl)} (${(error as Error).message}); set DATABASE_URL to a server where scratch databases may be created to run these steps`
        }
      }
      used.push(db)
      await empty(urlOf(db))
      if (sql) {
        const c = await connect(urlOf(db))
        await c.query(sql).finally(() => c.end())
      }
      return { url: urlOf(db) }
    },
    /** Empties the databases used and releases them for the next run. */
    async release(): Promise<void> {
      for (const db of used.splice(0)) await empty(urlOf(db)).catch(() => {})
      await admin?.end().catch(() => {})
      admin = undefined
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
