/**
 * The two encryptions, as streams, so a backup never sits in memory:
 * - age (the `age-encryption` library: the real format, `age -d` decrypts it);
 * - OpenSSL's `Salted__` AES-256-CBC with PBKDF2-SHA256, which
 *   `openssl enc -d -aes-256-cbc -pbkdf2 -iter N -md sha256` decrypts.
 * The age library is loaded only when a backup is encrypted with it.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto'
import { Duplex, Transform, type TransformCallback } from 'node:stream'
import type { ReadableStream as WebReadable } from 'node:stream/web'

const MAGIC = Buffer.from('Salted__', 'latin1')

function deriveKey(
  passphrase: string,
  salt: Buffer,
  iterations: number
): Promise<{ key: Buffer; iv: Buffer }> {
  return new Promise((resolve, reject) =>
    pbkdf2(passphrase, salt, iterations, 48, 'sha256', (error, bytes) =>
      error ? reject(error) : resolve({ key: bytes.subarray(0, 32), iv: bytes.subarray(32) })
    )
  )
}

/** `Salted__` + 8-byte salt, then AES-256-CBC (PKCS#7 padding) with key and IV from PBKDF2-SHA256. */
export async function opensslEncrypter(passphrase: string, iterations: number): Promise<Transform> {
  const salt = randomBytes(8)
  const { key, iv } = await deriveKey(passphrase, salt, iterations)
  const cipher = createCipheriv('aes-256-cbc', key, iv)
  let head: Buffer | undefined = Buffer.concat([MAGIC, salt])
  const first = (): Buffer[] => {
    const h = head
    head = undefined
    return h ? [h] : []
  }
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      for (const b of [...first(), cipher.update(chunk)]) if (b.length) this.push(b)
      done()
    },
    flush(done: TransformCallback) {
      for (const b of [...first(), cipher.final()]) if (b.length) this.push(b)
      done()
    }
  })
}

/** The reverse of opensslEncrypter; a wrong passphrase or a damaged end fails ("bad decrypt"). */
export function opensslDecrypter(passphrase: string, iterations: number): Transform {
  let header = Buffer.alloc(0)
  let decipher: ReturnType<typeof createDecipheriv> | undefined
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (decipher) {
        this.push(decipher.update(chunk))
        return done()
      }
      header = Buffer.concat([header, chunk])
      if (header.length < 16) return done()
      if (!header.subarray(0, 8).equals(MAGIC))
        return done(new Error('not an OpenSSL Salted__ file'))
      deriveKey(passphrase, header.subarray(8, 16), iterations).then(({ key, iv }) => {
        decipher = createDecipheriv('aes-256-cbc', key, iv)
        this.push(decipher.update(header.subarray(16)))
        done()
      }, done)
    },
    flush(done: TransformCallback) {
      if (!decipher) return done(new Error('the file ends before the OpenSSL header'))
      try {
        this.push(decipher.final())
        done()
      } catch {
        done(new Error('bad decrypt: wrong passphrase, or the file is damaged or truncated'))
      }
    }
  })
}

/** A Node duplex over a function from one web stream to another (how age-encryption streams). */
function webDuplex(
  map: (input: WebReadable<Uint8Array>) => Promise<WebReadable<Uint8Array>>
): Duplex {
  const pass = new TransformStream<Uint8Array, Uint8Array>()
  const mapped = map(pass.readable as unknown as WebReadable<Uint8Array>)
  // Avoid an unhandled rejection before the first pull; the pull reports it.
  mapped.catch(() => undefined)
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= ((await mapped) as unknown as ReadableStream<Uint8Array>).getReader()
        const { value, done } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      async cancel(reason) {
        await reader?.cancel(reason)
      }
    },
    { highWaterMark: 0 }
  )
  return Duplex.fromWeb(
    { readable, writable: pass.writable } as unknown as Parameters<typeof Duplex.fromWeb>[0],
    { objectMode: false }
  )
}

/**
 * Encrypts to age recipients. The run keeps the file key it drew (through the
 * library's Recipient interface, adding no stanza to the file) so it can decrypt
 * and verify its own backup; the key is never written anywhere.
 */
export async function ageEncrypter(
  recipients: string[]
): Promise<{ stream: Duplex; fileKey: () => Uint8Array }> {
  const { Encrypter } = await import('age-encryption')
  const e = new Encrypter()
  for (const r of recipients) e.addRecipient(r)
  let key: Uint8Array | undefined
  e.addRecipient({
    wrapFileKey: fileKey => {
      key = fileKey.slice()
      return []
    }
  })
  const stream = webDuplex(
    async input =>
      (await e.encrypt(
        input as unknown as ReadableStream<Uint8Array>
      )) as unknown as WebReadable<Uint8Array>
  )
  return {
    stream,
    fileKey: () => {
      if (!key) throw new Error('age has not drawn a file key yet')
      return key
    }
  }
}

/** Decrypts age with the run's file key, or with identities (`AGE-SECRET-KEY-1...`). */
export async function ageDecrypter(key: Uint8Array | string[]): Promise<Duplex> {
  const { Decrypter } = await import('age-encryption')
  const d = new Decrypter()
  if (key instanceof Uint8Array) d.addIdentity({ unwrapFileKey: () => key })
  else for (const id of key) d.addIdentity(id)
  return webDuplex(
    async input =>
      (await d.decrypt(
        input as unknown as ReadableStream<Uint8Array>
      )) as unknown as WebReadable<Uint8Array>
  )
}
