// A fake of the GitHub Actions results service that @actions/artifact talks to:
// the Twirp JSON endpoints of github.actions.results.api.v1.ArtifactService
// (CreateArtifact, FinalizeArtifact, ListArtifacts, GetSignedArtifactURL,
// DeleteArtifact) and the signed Azure blob URL the upload goes to (Put Block,
// Put Block List, Put Blob). Bytes are kept, so a test can read back what was uploaded.
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeArtifact {
  id: number
  name: string
  runBackendId: string
  jobBackendId: string
  mimeType?: string
  expiresAt?: string
  version: number
  size?: number
  hash?: string
  finalized: boolean
  createdAt: string
  content?: Buffer
}

const SERVICE = '/twirp/github.actions.results.api.v1.ArtifactService/'

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export class FakeResults {
  readonly runBackendId = 'c4d1a5b2-0000-4000-8000-000000000001'
  readonly jobBackendId = 'c4d1a5b2-0000-4000-8000-000000000002'
  /** A JWT shaped like the runner's: the backend ids in the `scp` claim (unsigned here). */
  readonly token = [
    b64url({ typ: 'JWT', alg: 'RS256' }),
    b64url({
      scp: `Actions.ExampleScope Actions.Results:${this.runBackendId}:${this.jobBackendId}`,
      exp: Math.floor(Date.now() / 1000) + 3600
    }),
    'c2lnbmF0dXJl'
  ].join('.')
  readonly artifacts: FakeArtifact[] = []
  /** Every request: method, path (no query), and the Twirp JSON body when there is one. */
  readonly requests: Array<{ method: string; path: string; query: string; json?: unknown }> = []
  /** Answer the next N blob writes with 503 (the SDK retries them). */
  failBlobWrites = 0
  /** Never answer blob writes (a stalled upload), calling `onBlobWrite` as each arrives. */
  holdBlobWrites = false
  onBlobWrite?: () => void
  url = ''
  private readonly sig = randomBytes(12).toString('hex')
  private readonly blocks = new Map<string, Map<string, Buffer>>()
  private readonly blobs = new Map<string, Buffer>()
  private server?: http.Server
  private nextId = 1001

  /** The environment the runner gives a step so @actions/artifact can upload. */
  env(): Record<string, string> {
    return { ACTIONS_RUNTIME_TOKEN: this.token, ACTIONS_RESULTS_URL: `${this.url}/` }
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        try {
          this.route(req, res, Buffer.concat(chunks))
        } catch (error) {
          res.writeHead(500, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ code: 'internal', msg: String(error) }))
        }
      })
    })
    await new Promise<void>(r => this.server!.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>(r => (this.server ? this.server.close(() => r()) : r()))
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = req.method ?? 'GET'
    if (url.pathname.startsWith(SERVICE)) {
      let json: Record<string, unknown> = {}
      try {
        json = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {}
      } catch {
        return twirpError(res, 400, 'malformed', 'the body is not JSON')
      }
      this.requests.push({ method, path: url.pathname, query: url.search, json })
      if (method !== 'POST') return twirpError(res, 404, 'bad_route', 'Twirp calls are POSTs')
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return twirpError(res, 401, 'unauthenticated', 'invalid runtime token')
      return this.twirp(url.pathname.slice(SERVICE.length), json, res)
    }
    this.requests.push({ method, path: url.pathname, query: url.search })
    return this.blob(req, res, url, body)
  }

  private twirp(call: string, body: Record<string, unknown>, res: http.ServerResponse): void {
    const ids =
      body.workflow_run_backend_id === this.runBackendId &&
      body.workflow_job_run_backend_id === this.jobBackendId
    if (!ids && call !== 'ListArtifacts' && call !== 'GetSignedArtifactURL')
      return twirpError(res, 400, 'invalid_argument', 'unknown workflow run or job backend id')
    const name = String(body.name ?? '')
    switch (call) {
      case 'CreateArtifact': {
        if (!name) return twirpError(res, 400, 'invalid_argument', 'name is required')
        if (this.artifacts.some(a => a.name === name && a.finalized))
          return twirpError(res, 409, 'already_exists', `an artifact named ${name} already exists`)
        const a: FakeArtifact = {
          id: this.nextId++,
          name,
          runBackendId: this.runBackendId,
          jobBackendId: this.jobBackendId,
          mimeType: typeof body.mime_type === 'string' ? body.mime_type : undefined,
          expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined,
          version: Number(body.version ?? 0),
          finalized: false,
          createdAt: new Date().toISOString()
        }
        this.artifacts.push(a)
        return sendJson(res, 200, { ok: true, signed_upload_url: this.blobUrl(a) })
      }
      case 'FinalizeArtifact': {
        const a = this.artifacts.find(x => x.name === name && !x.finalized)
        if (!a) return twirpError(res, 404, 'not_found', `no artifact ${name} being uploaded`)
        const content = this.blobs.get(this.blobPath(a))
        if (!content) return twirpError(res, 412, 'failed_precondition', 'nothing was uploaded')
        if (Number(body.size) !== content.length)
          return twirpError(
            res,
            400,
            'invalid_argument',
            `size ${body.size} does not match the ${content.length} bytes uploaded`
          )
        const hash = `sha256:${createHash('sha256').update(content).digest('hex')}`
        if (body.hash !== undefined && body.hash !== hash)
          return twirpError(
            res,
            400,
            'invalid_argument',
            'hash does not match the uploaded content'
          )
        Object.assign(a, { finalized: true, size: content.length, hash, content })
        return sendJson(res, 200, { ok: true, artifact_id: String(a.id) })
      }
      case 'ListArtifacts': {
        const list = this.artifacts
          .filter(a => a.finalized)
          .filter(a => body.name_filter === undefined || a.name === body.name_filter)
          .filter(a => body.id_filter === undefined || String(a.id) === String(body.id_filter))
          .map(a => ({
            workflow_run_backend_id: a.runBackendId,
            workflow_job_run_backend_id: a.jobBackendId,
            database_id: String(a.id),
            name: a.name,
            size: String(a.size ?? 0),
            created_at: a.createdAt,
            ...(a.hash ? { digest: a.hash } : {})
          }))
        return sendJson(res, 200, { artifacts: list })
      }
      case 'GetSignedArtifactURL': {
        const a = this.artifacts.find(x => x.name === name && x.finalized)
        if (!a) return twirpError(res, 404, 'not_found', `no artifact ${name}`)
        return sendJson(res, 200, { signed_url: this.blobUrl(a) })
      }
      case 'DeleteArtifact': {
        const i = this.artifacts.findIndex(x => x.name === name && x.finalized)
        if (i < 0) return twirpError(res, 404, 'not_found', `no artifact ${name}`)
        const [a] = this.artifacts.splice(i, 1)
        this.blobs.delete(this.blobPath(a))
        return sendJson(res, 200, { ok: true, artifact_id: String(a.id) })
      }
      default:
        return twirpError(res, 404, 'bad_route', `no method ${call}`)
    }
  }

  private blobPath(a: FakeArtifact): string {
    return `/devstoreaccount1/actions-results/${a.runBackendId}/${a.jobBackendId}/${encodeURIComponent(a.name)}`
  }

  private blobUrl(a: FakeArtifact): string {
    const expiry = new Date(Date.now() + 3_600_000).toISOString()
    return `${this.url}${this.blobPath(a)}?sv=2023-11-03&se=${encodeURIComponent(expiry)}&sp=rcw&sr=b&sig=${this.sig}`
  }

  /** Azure Blob: Put Block, Put Block List and Put Blob, authorised by the URL's `sig`. */
  private blob(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
    const headers = {
      'x-ms-request-id': randomBytes(8).toString('hex'),
      'x-ms-version': String(req.headers['x-ms-version'] ?? '2023-11-03'),
      date: new Date().toUTCString()
    }
    if (url.searchParams.get('sig') !== this.sig)
      return blobError(res, 403, 'AuthenticationFailed', headers)
    const blob = url.pathname
    if (!this.artifacts.some(a => this.blobPath(a) === blob))
      return blobError(res, 404, 'ContainerNotFound', headers)
    if (req.method === 'GET') {
      const content = this.blobs.get(blob)
      if (!content) return blobError(res, 404, 'BlobNotFound', headers)
      res.writeHead(200, { ...headers, 'content-length': content.length })
      return void res.end(content)
    }
    if (req.method !== 'PUT') return blobError(res, 405, 'UnsupportedHttpVerb', headers)
    if (this.holdBlobWrites) {
      this.onBlobWrite?.()
      return
    }
    if (this.failBlobWrites > 0) {
      this.failBlobWrites--
      return blobError(res, 503, 'ServerBusy', headers)
    }
    const etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`
    const comp = url.searchParams.get('comp')
    if (comp === 'block') {
      const id = url.searchParams.get('blockid')
      if (!id) return blobError(res, 400, 'InvalidQueryParameterValue', headers)
      if (!this.blocks.has(blob)) this.blocks.set(blob, new Map())
      this.blocks.get(blob)!.set(id, body)
      res.writeHead(201, { ...headers, 'content-length': 0 })
      return void res.end()
    }
    if (comp === 'blocklist') {
      const staged = this.blocks.get(blob) ?? new Map<string, Buffer>()
      const ids = [
        ...body.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)
      ].map(m => m[1])
      const parts: Buffer[] = []
      for (const id of ids) {
        const part = staged.get(id)
        if (!part) return blobError(res, 400, 'InvalidBlockList', headers)
        parts.push(part)
      }
      this.blobs.set(blob, Buffer.concat(parts))
      this.blocks.delete(blob)
      res.writeHead(201, {
        ...headers,
        etag,
        'last-modified': new Date().toUTCString(),
        'content-length': 0
      })
      return void res.end()
    }
    if (comp === null && req.headers['x-ms-blob-type'] === 'BlockBlob') {
      this.blobs.set(blob, body)
      res.writeHead(201, {
        ...headers,
        etag,
        'last-modified': new Date().toUTCString(),
        'content-length': 0
      })
      return void res.end()
    }
    return blobError(res, 400, 'InvalidQueryParameterValue', headers)
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function twirpError(res: http.ServerResponse, status: number, code: string, msg: string): void {
  sendJson(res, status, { code, msg })
}

function blobError(
  res: http.ServerResponse,
  status: number,
  code: string,
  headers: Record<string, string>
): void {
  const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`
  res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'x-ms-error-code': code })
  res.end(xml)
}
