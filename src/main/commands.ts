export const COMMANDS = [
  'deploy-api',
  'deploy-web',
  'rollback',
  'db-migrate',
  'db-backup',
  'smoke-health'
] as const
