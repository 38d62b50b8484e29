// The health engine, by seam: status sets, JSON assertions, the check list, one
// probe, the gate over rounds, the shared inputs and the evidence written from it.
export { parseStatusSet, statusSet, STATUS_HELP } from './status.js'
export {
  boundedTest,
  checkAssertion,
  getPath,
  MATCH_TIME_MS,
  OPERATORS,
  type Assertion,
  type Operator
} from './assertions.js'
export {
  buildChecks,
  checkName,
  checksYaml,
  LATENCY_BOUNDS,
  registerCheckSecrets,
  urlCredentials,
  type CheckDefaults,
  type CheckItem,
  type CheckItem as CheckInput,
  type CheckSpec
} from './checks.js'
export { runCheck, type CheckResult, type ProbeClient, type ProbeLimits } from './probe.js'
export {
  DEFAULT_MAX_CONNECTIONS,
  MAX_CONNECTIONS_CEILING,
  perKeyLimit,
  runHealthGate,
  type GateOptions,
  type GateResult
} from './gate.js'
export {
  connectionFields,
  healthConfig,
  healthFields,
  INTERVAL_BOUNDS,
  REQUEST_TIMEOUT_BOUNDS,
  secretHeaders,
  TIMEOUT_BOUNDS,
  type ConnectionFields,
  type HealthConfig,
  type HealthDefaults,
  type HealthFields,
  type HealthPrefix,
  type HealthValues
} from './inputs.js'
export { causeLine, checksTable, evidenceMarkdown, reportJson, runbookFor } from './evidence.js'
