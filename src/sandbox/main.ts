// `npm run sandbox`: starts the world and keeps it running until Ctrl-C.
import { CONTROL_HELP, World } from './world.js'

const world = await World.start()
const e = world.endpoints()
const env = world.env()
const flags = (inputs: Record<string, string>): string =>
  Object.entries(inputs)
    .map(([k, v]) => `--${k} ${/^[\w./:,-]+$/.test(v) ? v : JSON.stringify(v)}`)
    .join(' \\\n      ')
const lines = [
  'Shipgate sandbox is running on 127.0.0.1 (Ctrl-C stops it).',
  '',
  `  Render API      ${e.renderApi}  (service srv-lmaapi, the LMA API)`,
  `  Vercel API      ${e.vercelApi}  (team ${world.vercel.teams[0]})`,
  `  GitHub API      ${e.githubApi}  (repository ${env.GITHUB_REPOSITORY})`,
  `  LMA API         ${e.apiHealth.join('\n                  ')}`,
  ...e.web.map(w => `  ${w.title.padEnd(16)}${w.url}  (Vercel project ${w.id})`),
  `  Control         ${e.control}`,
  '',
  'For incidents in the fake GitHub, set:',
  ...Object.entries(env).map(([k, v]) => `  export ${k}=${v}`),
  '',
  'Then run any action against it (the same values are the `with:` inputs of a step):',
  ...Object.entries(world.inputs()).map(
    ([command, inputs]) => `  npm exec shipgate -- ${command.split(' ')[0]} ${flags(inputs)}`
  ),
  '',
  `Scenario knobs, for example the next release is unhealthy:`,
  `  curl -s ${e.control}/knobs -d '{"unhealthyRelease": true}'`,
  '',
  CONTROL_HELP
]
process.stdout.write(`${lines.join('\n')}\n`)
process.on('SIGINT', () => {
  process.stdout.write('stopping the sandbox\n')
  void world.stop().then(() => process.exit(0))
})
await new Promise(() => {})
