// Lint gate: type-checked rules, no floating promises, no import cycles, and the pure
// core kept free of I/O libraries (only src/adapters, src/main.ts and src/cli may import them).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';

const ioLibraries = [
  'kafkajs',
  'ioredis',
  'node:http',
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:child_process',
  'pino',
  'prom-client',
  '@tensorflow/*',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**', 'bin/**', 'notebooks/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: [
      'src/ingest/**',
      'src/baseline/**',
      'src/policy/**',
      'src/pipeline/**',
      'src/dispatch/**',
      'src/config/**',
      'src/forecast/**',
      'src/predict/**',
      'src/probe/**',
      'src/execute/**',
      'src/learn/**',
      'src/evaluate/**',
      // Training's core: traces, windows, baselines, metrics, report rendering. Its file and
      // Kafka I/O live in src/adapters (fsTraining.ts, kafka/kafkaTopicReplay.ts).
      'src/training/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ioLibraries, message: 'The core is pure: do I/O in src/adapters.' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'Time arrives as nowMs; use the Clock port.' },
        { name: 'process', message: 'Config arrives as arguments.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Inject a seeded random source.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', 'scripts/**'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The inspection page's script runs in the browser, served as it is (no build step).
    files: ['src/adapters/http/ui/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'fetch',
          'URLSearchParams',
          'ResizeObserver',
          'setInterval',
          'uPlot',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  prettier,
);
