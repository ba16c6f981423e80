import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setImmediate: 'readonly',
  performance: 'readonly',
  Buffer: 'readonly',
  AbortController: 'readonly',
  AbortSignal: 'readonly',
  fetch: 'readonly',
  queueMicrotask: 'readonly',
  structuredClone: 'readonly',
  globalThis: 'readonly',
  require: 'readonly',
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/dist-next/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/.turbo/**',
      '.cache/**',
    ],
  },
  js.configs.recommended,
  // Config files and scripts: syntax rules only; they are not part of any package's program.
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [...tseslint.configs.recommended],
    languageOptions: { globals: nodeGlobals },
  },
  // Package sources: type-checked rules (floating promises are the classic bug of async
  // resilience code).
  {
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Policies pass a caller's rejection through untouched, whatever it is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // Library code a newcomer reads: short functions over named steps, and arguments by name
  // once they are many. Tests and the adapter contract suite (describe blocks) are exempt.
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/adapter-contract/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-params': ['error', 6],
    },
  },
  {
    files: ['**/*.test.ts'],
    rules: {
      // Tests assert on rejected promises and mock functions freely.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: nodeGlobals },
  },
  // The dashboard's page script runs in the browser, with uPlot loaded before it.
  {
    files: ['packages/dashboard/assets/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', EventSource: 'readonly', uPlot: 'readonly' },
    },
  },
);
