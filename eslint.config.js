import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import prettier from 'eslint-config-prettier'

// Layers: imports point downward only (actions -> engines -> providers -> runtime),
// and only the Actions host talks to @actions/core.
const upward = (...layers) => ({
  patterns: layers.map(layer => ({
    group: [`**/${layer}/**`, `../${layer}/*`, `../../${layer}/*`, `../../../${layer}/*`],
    message: `This layer must not import from src/${layer}: imports point downward (actions -> engines -> providers -> runtime).`
  }))
})
const core = {
  name: '@actions/core',
  message: 'Only src/runtime/actions-host.ts imports @actions/core; use the injected Host.'
}
const layerRule = (...layers) => ({
  'no-restricted-imports': ['error', { paths: [core], ...upward(...layers) }]
})

export default tseslint.config(
  { ignores: ['dist/**', 'dist.*/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly'
      }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: layerRule('providers', 'engines', 'actions', 'fakes', 'cli', 'sandbox')
  },
  {
    files: ['src/providers/**/*.ts'],
    rules: layerRule('engines', 'actions', 'fakes', 'cli', 'sandbox')
  },
  { files: ['src/engines/**/*.ts'], rules: layerRule('actions', 'fakes', 'cli', 'sandbox') },
  { files: ['src/actions/**/*.ts'], rules: layerRule('fakes', 'cli', 'sandbox') },
  { files: ['src/runtime/actions-host.ts'], rules: { 'no-restricted-imports': 'off' } }
)
