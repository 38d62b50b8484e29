#!/usr/bin/env node
// The `shipgate` command: the CLI is bundled into dist/cli.js (no dependencies to install).
await import('../dist/cli.js')
