/**
 * What the database holds, read inside the snapshot pg_dump then dumps (so the
 * counts are the dump's, even while the database takes writes), and the same
 * read on the restored copy.
 */
import type pg from 'pg'
import { tablePattern } from './args.js'

export interface TableInfo {
  schema: string
  name: string
  /** `r` ordinary, `p` partitioned (its rows are in its partitions). */
  kind: 'r' | 'p'
  /** Row count: exact under the size limit, the planner's estimate above. */
  rows?: number
  exact: boolean
  bytes: number
}

/** Tables above this size are compared by estimate, not counted. */
export const EXACT_COUNT_LIMIT = 64 * 1024 * 1024

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       pg_relation_size(c.oid)::float8 AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function qualified(t: Pick<TableInfo, 'schema' | 'name'>): string {
  return `${t.schema}.${t.name}`
}

/** Top-level tables (partitions are counted through their parent), without counts. */
export async function listTables(client: pg.Client): Promise<TableInfo[]> {
  const { rows } = await client.query<{
    schema: string
    name: string
    kind: 'r' | 'p'
    bytes: number
  }>(TABLES_SQL)
  return rows.map(r => ({ ...r, exact: false }))
}

/**
 * Fills in row counts: exact (`count(*)`) where `exact(t)` says so, else the
 * planner's estimate (after ANALYZE when `analyze`, as on a fresh restore).
 */
export async function countRows(
  client: pg.Client,
  tables: TableInfo[],
  exact: (t: TableInfo) => boolean,
  analyze = false
): Promise<void> {
  for (const t of tables) {
    const ident = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`
    if (exact(t)) {
      const c = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident}`)
      t.rows = Number(c.rows[0].n)
      t.exact = true
      continue
    }
    if (analyze) await client.query(`ANALYZE ${ident}`)
    // reltuples is -1 on a table never analyzed: no estimate, no comparison.
    const e = await client.query<{ n: number | null }>(
      `SELECT CASE WHEN bool_or(c.reltuples < 0) THEN NULL ELSE sum(c.reltuples) END::float8 AS n
       FROM pg_class c WHERE c.oid = $1::regclass
          OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass)`,
      [ident]
    )
    const n = e.rows[0]?.n
    t.rows = n === null || n === undefined ? undefined : Math.round(n)
    t.exact = false
  }
}

/** Whether a source table is small enough to count exactly. */
export function countable(t: TableInfo, limitBytes = EXACT_COUNT_LIMIT): boolean {
  return t.kind === 'r' && t.bytes <= limitBytes
}

export interface Selection {
  excludeTables: string[]
  excludeSchemas: string[]
}

/** The tables pg_dump is expected to write, given the exclusions. */
export function expectedTables(tables: TableInfo[], s: Selection): TableInfo[] {
  const byTable = s.excludeTables.map(tablePattern)
  // A schema pattern is one name: match it as a table name against the schema.
  const bySchema = s.excludeSchemas.map(tablePattern)
  return tables.filter(
    t => !byTable.some(m => m(t.schema, t.name)) && !bySchema.some(m => m('', t.schema))
  )
}

/** Expected tables missing from `pg_restore --list` output (`TABLE` or `TABLE DATA` entries). */
export function missingFromList(list: string, expected: TableInfo[], data: boolean): TableInfo[] {
  const lines = list.split('\n').filter(l => !l.startsWith(';'))
  return expected
    .filter(t => !data || t.kind === 'r')
    .filter(t => {
      const entry = `${data ? 'TABLE DATA' : 'TABLE'} ${t.schema} ${t.name} `
      return !lines.some(l => l.includes(` ${entry}`))
    })
}

export interface Mismatch {
  table: string
  source?: number
  restored?: number
  exact: boolean
}

/** Tables missing after the restore, and row counts that differ (estimates within 10%). */
export function compareTables(source: TableInfo[], restored: TableInfo[]): Mismatch[] {
  const byName = new Map(restored.map(t => [qualified(t), t]))
  const out: Mismatch[] = []
  for (const s of source) {
    const r = byName.get(qualified(s))
    if (!r) {
      out.push({ table: qualified(s), source: s.rows, exact: s.exact })
      continue
    }
    if (s.rows === undefined || r.rows === undefined) continue
    const same = s.exact
      ? s.rows === r.rows
      : Math.abs(s.rows - r.rows) <= Math.max(1000, 0.1 * s.rows)
    if (!same) out.push({ table: qualified(s), source: s.rows, restored: r.rows, exact: s.exact })
  }
  return out
}
