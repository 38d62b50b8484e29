// One round of 50 checks against endpoints that each take 200 ms, through the
// smoke-health bundle (process start included). Peers that curl one URL after
// another need 50 x 200 ms = 10 s.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const server = http.createServer((req, res) => {
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"status":"ok"}')
  }, 200)
})
await new Promise(r => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`
const urls = Array.from({ length: 50 }, (_, i) => `${base}/health/${i}`).join('\n')

async function once() {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'))
  const out = path.join(dir, 'out')
  writeFileSync(out, '')
  const env = {
    PATH: process.env.PATH,
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: path.join(dir, 'sum'),
    INPUT_URL: urls,
    'INPUT_OPEN-ISSUE': 'false',
    'INPUT_CLOSE-ISSUE': 'false',
    'INPUT_MAX-LATENCY': '2s'
  }
  const t = process.hrtime.bigint()
  const child = spawn(process.execPath, ['dist/smoke-health/index.js'], { env, stdio: 'ignore' })
  const code = await new Promise(r => child.on('close', r))
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  const healthy = /healthy<<[^\n]+\ntrue/.test(readFileSync(out, 'utf8'))
  return { ms, code, healthy }
}

const runs = []
for (let i = 0; i < 5; i++) runs.push(await once())
server.close()
runs.sort((a, b) => a.ms - b.ms)
const median = runs[2]
console.log(
  `50 checks x 200 ms, one round, whole process: median ${(median.ms / 1000).toFixed(3)} s (min ${(runs[0].ms / 1000).toFixed(3)} s, max ${(runs[4].ms / 1000).toFixed(3)} s); healthy=${median.healthy}, exit ${median.code}; goal < 0.5 s; sequential peers: 10 s`
)
