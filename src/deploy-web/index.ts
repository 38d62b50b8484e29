import { runPending } from '../lib/pending.js'
import { OUTPUTS, spec } from './inputs.js'

await runPending('deploy-web', spec, OUTPUTS)
