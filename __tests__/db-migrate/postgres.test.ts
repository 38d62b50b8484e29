import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import net from 'node:net'
import { ConfigurationError } from '../../src/runtime/errors.js'
import {
  DatabaseUnavailableError,
  parseDatabaseUrl,
  preflight
} from '../../src/providers/postgres/client.js'
import {
  createDb,
  PG_HOST,
  PG_PORT,
  refusingServer,
  startupError,
  tcpServer,
  type TestDb
} from './helpers.js'

const PASSWORD = 's3cr%3Ft!pw' // percent-encoded in URLs; decoded it is s3cr?t!pw
const DECODED = decodeURIComponent(PASSWORD)

/** The error thrown by preflight, with a check that no form of the password leaks. */
async function failure(url: string, connectTimeoutMs = 5000): Promise<Error> {
  try {
    const { client } = await preflight(url, { connectTimeoutMs })
    await client.end()
  } catch (error) {
    const e = error as Error
    for (const leak of [PASSWORD, DECODED, encodeURIComponent(DECODED)])
      expect(e.message).not.toContain(leak)
    expect(e.stack ?? '').not.toContain(DECODED)
    return e
  }
  throw new Error('expected the connection to fail')
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat(
    [`SFATAL`, `VFATAL`, `C${code}`, `M${message}`]
      .map(f => Buffer.from(`${f}\0`, 'utf8'))
      .concat([Buffer.from([0])])
  )
  const head = Buffer.alloc(5)
  head.write('E', 0)
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

/**
 * A minimal PostgreSQL server: answers SSLRequest with 'N', asks for a
 * cleartext password when `askPassword`, then sends an ErrorResponse.
 */
async function fakeServer(
  reply: Buffer,
  askPassword: boolean
): Promise<{ url: (q?: string) => string; passwords: string[]; close: () => Promise<void> }> {
  const passwords: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    let buf = Buffer.alloc(0)
    let stage: 'startup' | 'password' | 'done' = 'startup'
    socket.on('data', chunk => {
      if (stage === 'done') return
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        if (stage === 'startup') {
          if (buf.length < 8) return
          const len = buf.readInt32BE(0)
          if (buf.length < len) return
          const code = buf.readInt32BE(4)
          buf = buf.subarray(len)
          if (code === 80877103) {
            socket.write('N')
            continue
          }
          if (askPassword) {
            const auth = Buffer.alloc(9)
            auth.write('R', 0)
            auth.writeInt32BE(8, 1)
            auth.writeInt32BE(3, 5)
            socket.write(auth)
            stage = 'password'
            continue
          }
          stage = 'done'
          socket.end(reply)
          return
        }
        if (buf.length < 5) return
        const len = buf.readInt32BE(1)
        if (buf.length < len + 1) return
        passwords.push(
          buf
            .subarray(5, len + 1)
            .toString('utf8')
            .replace(/\0$/u, '')
        )
        stage = 'done'
        socket.end(reply)
        return
      }
    })
    socket.on('error', () => undefined)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    passwords,
    url: (q = 'sslmode=disable') => `postgres://app_user:${PASSWORD}@127.0.0.1:${port}/appdb?${q}`,
    close: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

describe('preflight against the real server', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await createDb()
  })
  afterAll(async () => db.drop())

  it('connects (sslmode=disable) and reports the server', async () => {
    const { client, server } = await preflight(db.url, { applicationName: 'shipgate db-migrate' })
    try {
      expect(server.database).toBe(db.name)
      expect(server.user).toBe('postgres')
      const { rows } = await client.query<{ app: string }>(
        "SELECT current_setting('application_name') AS app"
      )
      expect(rows[0]?.app).toBe('shipgate db-migrate')
    } finally {
      await client.end()
    }
  })

  it('falls back to plain text when sslmode is absent (libpq prefer) and the server has no SSL', async () => {
    const { client } = await preflight(
      `postgres://postgres:${PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}`
    )
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
    )
    expect(rows[0]?.ssl).toBe(false)
    await client.end()
  })

  it('says SSL is refused when sslmode=require meets a server without SSL', async () => {
    const e = await failure(
      `postgres://postgres:${PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}?sslmode=require`
    )
    expect(e).toBeInstanceOf(ConfigurationError)
    expect(e.message).toMatch(
      /does not accept SSL but the database URL requires it \(sslmode=require\)/u
    )
  })

  it('names a database that does not exist', async () => {
    const e = await failure(
      `postgres://postgres:${PASSWORD}@${PG_HOST}:${PG_PORT}/shipgate_missing_db?sslmode=disable`
    )
    expect(e).toBeInstanceOf(ConfigurationError)
    expect(e.message).toBe(
      `Database "shipgate_missing_db" does not exist at ${PG_HOST}:${PG_PORT}.`
    )
  })
})

describe('preflight error mapping', () => {
  it('reports a refused connection', async () => {
    const probe = net.createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as net.AddressInfo
    await new Promise<void>(resolve => probe.close(() => resolve()))
    const e = await failure(`postgres://u:${PASSWORD}@127.0.0.1:${port}/d?sslmode=disable`)
    // An outage, not a configuration mistake.
    expect(e).toBeInstanceOf(DatabaseUnavailableError)
    expect(e).not.toBeInstanceOf(ConfigurationError)
    expect(e).toMatchObject({ kind: 'unreachable' })
    expect(e.message).toMatch(new RegExp(`^Connection refused by 127\\.0\\.0\\.1:${port}`, 'u'))
  })

  it('a server that accepts and hangs up during the handshake is an outage', async () => {
    const server = await tcpServer(socket => socket.destroy())
    try {
      const e = await failure(`postgres://u:${PASSWORD}@127.0.0.1:${server.port}/d?sslmode=disable`)
      expect(e).toBeInstanceOf(DatabaseUnavailableError)
      expect(e).toMatchObject({ kind: 'unreachable' })
      expect(e.message).toMatch(/closed the connection before the session started/u)
    } finally {
      await server.close()
    }
  })

  it.each([
    ['53300', 'sorry, too many clients already', 'exhausted', /no connection slot left/u],
    ['57P03', 'the database system is starting up', 'unreachable', /not accepting connections yet/u]
  ])('a startup answered %s is an outage (%s)', async (code, message, kind, text) => {
    const server = await refusingServer(startupError(code, message))
    try {
      const e = await failure(`postgres://u:${PASSWORD}@127.0.0.1:${server.port}/d?sslmode=disable`)
      expect(e).toBeInstanceOf(DatabaseUnavailableError)
      expect(e).toMatchObject({ kind })
      expect(e.message).toMatch(text)
    } finally {
      await server.close()
    }
  })

  it('reports a host that does not resolve', async () => {
    const e = await failure(`postgres://u:${PASSWORD}@shipgate-no-such-host.invalid:5432/d`)
    expect(e.message).toMatch(/shipgate-no-such-host\.invalid could not be resolved/u)
  })

  it('tells to use the session pooler for the IPv6-only direct Supabase host', async () => {
    const e = await failure(
      `postgresql://postgres:${PASSWORD}@db.abcdefghijklmnopqrst.supabase.co:5432/postgres`
    )
    expect(e).toBeInstanceOf(ConfigurationError)
    expect(e.message).toMatch(/IPv6-only and unreachable from GitHub-hosted runners/u)
    expect(e.message).toMatch(/pooler\.supabase\.com:5432/u)
    expect(e.message).toMatch(/user postgres\.abcdefghijklmnopqrst/u)
  })

  it('reports a connection timeout', async () => {
    const silent = net.createServer(() => undefined)
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as net.AddressInfo
    try {
      const started = Date.now()
      const e = await failure(`postgres://u:${PASSWORD}@127.0.0.1:${port}/d?sslmode=disable`, 300)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(e).toBeInstanceOf(DatabaseUnavailableError)
      expect(e.message).toMatch(/^Timed out connecting to 127\.0\.0\.1:\d+/u)
    } finally {
      silent.close()
    }
  })

  it('reports a wrong password (28P01) from a server that asked for it', async () => {
    const fake = await fakeServer(
      errorResponse('28P01', 'password authentication failed for user "app_user"'),
      true
    )
    try {
      const e = await failure(fake.url())
      expect(fake.passwords).toEqual([DECODED]) // the client really sent the decoded password
      expect(e).toBeInstanceOf(ConfigurationError)
      expect(e.message).toMatch(
        /^Password authentication failed for user "app_user" at 127\.0\.0\.1:\d+\. Check the password/u
      )
    } finally {
      await fake.close()
    }
  })

  it('takes the password from ?password= as libpq does, and never prints it', async () => {
    const fake = await fakeServer(
      errorResponse('28P01', 'password authentication failed for user "app_user"'),
      true
    )
    try {
      const url =
        fake.url().replace(`:${PASSWORD}@`, '@') + `&password=${encodeURIComponent(DECODED)}`
      const e = await failure(url)
      expect(fake.passwords).toEqual([DECODED])
      expect(e).toBeInstanceOf(ConfigurationError)
    } finally {
      await fake.close()
    }
  })

  it('a URL without a password for a server that asks for one (SCRAM) is a configuration error', async () => {
    // SASL with SCRAM-SHA-256 (what Supabase asks), then the server-first message.
    const server = await tcpServer(socket => {
      const auth = (code: number, body: Buffer): Buffer => {
        const head = Buffer.alloc(9)
        head.write('R', 0)
        head.writeInt32BE(8 + body.length, 1)
        head.writeInt32BE(code, 5)
        return Buffer.concat([head, body])
      }
      socket.once('data', () => {
        socket.once('data', () => socket.write(auth(11, Buffer.from('r=abc,s=c2FsdA==,i=4096'))))
        socket.write(auth(10, Buffer.from('SCRAM-SHA-256\0\0')))
      })
    })
    try {
      const e = await failure(`postgres://app_user@127.0.0.1:${server.port}/d?sslmode=disable`)
      expect(e).toBeInstanceOf(ConfigurationError)
      expect(e.message).toMatch(
        /^The server at 127\.0\.0\.1:\d+ asks for a password for user "app_user", but the database URL has none/u
      )
    } finally {
      await server.close()
    }
  })

  it('says SSL is required when pg_hba rejects an unencrypted connection', async () => {
    const fake = await fakeServer(
      errorResponse(
        '28000',
        'no pg_hba.conf entry for host "10.1.2.3", user "app_user", database "appdb", no encryption'
      ),
      false
    )
    try {
      const e = await failure(fake.url())
      expect(e.message).toMatch(/requires an encrypted connection: add sslmode=require/u)
    } finally {
      await fake.close()
    }
  })

  it('refuses the Supabase transaction pooler before connecting', async () => {
    const e = await failure(
      `postgres://postgres.ref:${PASSWORD}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres`
    )
    expect(e.message).toMatch(/transaction pooler.*session pooler on port 5432/u)
  })

  it('rejects malformed URLs without echoing them', async () => {
    const e = await failure(`postgres//user:${PASSWORD}@host/db`)
    expect(e).toBeInstanceOf(ConfigurationError)
    expect(() => parseDatabaseUrl(`mysql://u:${PASSWORD}@h/d`)).toThrow(
      /must start with postgres:\/\//u
    )
    expect(() => parseDatabaseUrl(`postgres://u:${PASSWORD}@h/d?sslmode=bogus`)).toThrow(
      /Unsupported sslmode "bogus"/u
    )
  })

  it('parses the parts of a URL', () => {
    expect(
      parseDatabaseUrl(
        `postgresql://postgres.ref:${PASSWORD}@[::1]:6000/my%20db?sslmode=verify-full&connect_timeout=3`
      )
    ).toEqual({
      host: '::1',
      port: 6000,
      user: 'postgres.ref',
      password: DECODED,
      database: 'my db',
      sslmode: 'verify-full',
      connectTimeout: 3
    })
  })
})
