// Lint is where the architecture is enforced: the pure core may not reach for
// I/O, clocks, the environment or the API client; only k8s/ speaks
// @kubernetes/client-node; only nft.ts runs processes; only telemetry/clock.ts
// reads the time or sets timers; the three edges (controller, executor, cli)
// never import each other; and nothing in src/ imports test code (the
// embedded API server lives in test/support/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_CHILD_PROCESS = {
  group: ['node:child_process'],
  message: 'Only src/nft/nft.ts runs processes.',
};
const NO_CLIENT_NODE = {
  group: ['@kubernetes/client-node'],
  message: 'Only src/k8s/ speaks @kubernetes/client-node; add what you need there.',
};
const NO_TEST_CODE = {
  group: ['**/test/**'],
  message: 'Product code never imports test code (the embedded API server is a test tool).',
};
const NO_TIMERS = {
  group: ['node:timers', 'node:timers/*'],
  message: 'Timers go through the injected Clock (src/telemetry/clock.ts).',
};
/** Restricted imports: what every file of src/ obeys, plus `extra`. */
const restrictedImports = (...extra) => [
  'error',
  { patterns: [NO_TEST_CODE, NO_TIMERS, ...extra] },
];
const PURE_FILES = [
  'src/policy/**/*.ts',
  'src/nft/render.ts',
  'src/nft/syntax.ts',
  'src/nft/ruleset.ts',
  'src/nft/hash.ts',
  'src/nft/comments.ts',
  'src/nft/table-diff.ts',
  'src/nft/counters.ts',
  'src/nft/compose.ts',
  'src/nft/live-members.ts',
  'src/nft/node-script.ts',
];
const NO_DATE_NOW = {
  object: 'Date',
  property: 'now',
  message: 'Read the time from the injected Clock.',
};
/** One clock: no file of src/ but telemetry/clock.ts reads the time or sets a timer. */
const oneClock = {
  files: ['src/**/*.ts'],
  ignores: [...PURE_FILES, 'src/telemetry/clock.ts'],
  rules: {
    'no-restricted-properties': ['error', NO_DATE_NOW],
    'no-restricted-syntax': [
      'error',
      {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'Read the time from the injected Clock.',
      },
    ],
    'no-restricted-globals': [
      'error',
      { name: 'setTimeout', message: 'Set timers through the injected Clock.' },
      { name: 'setInterval', message: 'Set timers through the injected Clock.' },
    ],
  },
};
/**
 * The CLI runs in-process under test: only its shim (cli/main.ts) touches the
 * process; everything else gets streams, cwd, env and clock from runCli's io.
 * (Repeats NO_DATE_NOW: a later block's options replace oneClock's.)
 */
const cliWithoutProcess = {
  files: ['src/cli/**/*.ts'],
  ignores: ['src/cli/main.ts'],
  rules: {
    'no-restricted-properties': [
      'error',
      NO_DATE_NOW,
      ...['env', 'cwd', 'chdir', 'argv', 'exit', 'exitCode', 'stdout', 'stderr', 'stdin'].map(
        (property) => ({
          object: 'process',
          property,
          message: "Only src/cli/main.ts touches the process; take it from runCli's io.",
        }),
      ),
    ],
  },
};
const pureCore = {
  files: PURE_FILES,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          NO_TEST_CODE,
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
    'no-restricted-imports': restrictedImports(
      {
        group: others.map((o) => `**/${o}/**`),
        message: 'controller, executor and cli never import each other: move shared code down.',
      },
      NO_CHILD_PROCESS,
      NO_CLIENT_NODE,
    ),
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
    files: ['src/k8s/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports(NO_CHILD_PROCESS) },
  },
  {
    files: [
      'src/telemetry/**/*.ts',
      'src/history/**/*.ts',
      'src/options/**/*.ts',
      'src/nft/**/*.ts',
    ],
    ignores: [...PURE_FILES, 'src/nft/nft.ts', 'src/telemetry/clock.ts'],
    rules: { 'no-restricted-imports': restrictedImports(NO_CHILD_PROCESS, NO_CLIENT_NODE) },
  },
  {
    files: ['src/nft/nft.ts'],
    rules: { 'no-restricted-imports': restrictedImports(NO_CLIENT_NODE) },
  },
  {
    files: ['src/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports(NO_CHILD_PROCESS, NO_CLIENT_NODE) },
  },
  oneClock,
  cliWithoutProcess,
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
