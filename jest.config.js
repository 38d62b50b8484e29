/** ESM jest: ts-jest transpiles TypeScript; node runs it with --experimental-vm-modules. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }]
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  // Benchmarks run with npm run bench, never as tests.
  testPathIgnorePatterns: ['/node_modules/', '\\.bench\\.test\\.ts$'],
  globalSetup: '<rootDir>/__tests__/support/global-setup.mjs',
  testTimeout: 60000,
  maxWorkers: 2
}
