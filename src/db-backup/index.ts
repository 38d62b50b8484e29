import { runPending } from '../lib/pending.js'
import { OUTPUTS, spec } from './inputs.js'

await runPending('db-backup', spec, OUTPUTS)
