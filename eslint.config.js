// Lint is where the architecture is enforced: the pure core may not reach for
// I/O, clocks, the environment or the API client, only nft.ts runs processes,
// and the three edges (controller, executor, cli) never import each other.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureCore = {
  files: ['src/policy/**/*.ts', 'src/nft/render.ts', 'src/nft/syntax.ts', 'src/nft/ruleset.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [
              'node:fs',
              'node:fs/*',
              'node:child_process',
              'node:net',
              'node:http',
              'node:https',
            ],
            message: 'The pure core does no I/O; do it in a shell module.',
          },
          {
            group: ['@kubernetes/client-node', 'pino', 'ioredis', 'prom-client'],
            message: 'The pure core takes plain data; adapt at the edge.',
          },
          {
            group: ['**/controller/**', '**/executor/**', '**/cli/**', '**/k8s/**'],
            message: 'Dependencies point inward: edges import the core, never the reverse.',
          },
        ],
      },
    ],
    'no-restricted-properties': [
      'error',
      {
        object: 'Date',
        property: 'now',
        message: 'No clock in the core: take `now` as a parameter.',
      },
      { object: 'Math', property: 'random', message: 'No randomness in the core.' },
      {
        object: 'process',
        property: 'env',
        message: 'No environment in the core: pass configuration in.',
      },
    ],
    'no-restricted-syntax': [
      'error',
      {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'No clock in the core: take `now` as a parameter.',
      },
    ],
  },
};

const edge = (part, others) => ({
  files: [`src/${part}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: others.map((o) => `**/${o}/**`),
            message: 'controller, executor and cli never import each other: move shared code down.',
          },
          { group: ['node:child_process'], message: 'Only src/nft/nft.ts runs processes.' },
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'eslint.config.js', 'charts/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  pureCore,
  edge('controller', ['executor', 'cli']),
  edge('executor', ['controller', 'cli']),
  edge('cli', ['controller', 'executor']),
  {
    files: ['src/k8s/**/*.ts', 'src/telemetry/**/*.ts', 'src/history/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:child_process'], message: 'Only src/nft/nft.ts runs processes.' },
          ],
        },
      ],
    },
  },
  {
    // node:test's describe/it return promises that the runner awaits itself.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
    },
  },
);
