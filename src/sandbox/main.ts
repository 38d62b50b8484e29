// `npm run sandbox`: starts the world and keeps it running until Ctrl-C.
import { CONTROL_HELP, World } from './world.js'

const world = await World.start()
const e = world.endpoints()
const env = world.env()
const lines = [
  'Shipgate sandbox is running on 127.0.0.1 (Ctrl-C stops it).',
  '',
  `  Render API     ${e.renderApi}      (service ${env.SHIPGATE_SERVICE_ID})`,
  `  Vercel API     ${e.vercelApi}`,
  `  GitHub API     ${e.githubApi}      (repository ${env.GITHUB_REPOSITORY})`,
  `  LMA API        ${e.apiHealth.join('\n                 ')}`,
  ...e.web.map(w => `  ${w.title.padEnd(15)}${w.url}`),
  `  Control        ${e.control}`,
  '',
  'Point the CLI (or an action run by hand) at it:',
  '',
  ...Object.entries(env).map(([k, v]) => `  export ${k}=${v}`),
  '',
  `  npm exec shipgate -- smoke-health --url ${e.apiHealth[0]}`,
  `  npm exec shipgate -- deploy-api --health-url ${e.apiHealth[0]} --commit 2222222222222222222222222222222222222222 --health-interval 1s`,
  '',
  'In a workflow or with flags, the same values are the inputs render-api-url, render-api-key,',
  'service-id, vercel-api-url, vercel-token, vercel-team-id, and GITHUB_API_URL for the token.',
  '',
  `Scenario knobs: curl -s ${e.control}/knobs -d '{"unhealthyRelease": true}'`,
  '',
  CONTROL_HELP
]
process.stdout.write(`${lines.join('\n')}\n`)
process.on('SIGINT', () => {
  process.stdout.write('stopping the sandbox\n')
  void world.stop().then(() => process.exit(0))
})
await new Promise(() => {})
