/**
 * The offline commands never load @kubernetes/client-node (about a second of
 * start-up that render, explain and matrix do not need): only the commands
 * that talk to an API server import it, when they run. Proved in a fresh
 * child process whose module loader refuses client-node: each offline
 * command (and the top-level help, which loads every command's module) must
 * still succeed, while `status`, which does need it, must run into the
 * refusal — so the test would notice a hook that refuses nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runNode } from './run-cli.js';

/** A resolve hook that fails every import that lands in client-node's package. */
const REFUSE_CLIENT_NODE = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.includes('/node_modules/@kubernetes/client-node/')) {
    throw new Error('refused to load @kubernetes/client-node');
  }
  return resolved;
}
`;

const OFFLINE: readonly (readonly string[])[] = [
  ['--help'],
  ['render', '-f', 'examples'],
  [
    'explain',
    '-f',
    'examples',
    '--from',
    'shop/frontend-0',
    '--to',
    'shop/cart-0',
    '--port',
    'http',
  ],
  ['matrix', '-f', 'examples', '-o', 'json'],
];
const ONLINE: readonly string[] = ['status', '--server', 'http://127.0.0.1:1'];

/** Runs each command line through runCli in one child; prints [{args, code, stderr}] as JSON. */
const DRIVER = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(REFUSE_CLIENT_NODE)}));
const { runCli } = await import('./src/cli/run.ts');
const clock = { now: () => 0, setTimer: () => undefined, clearTimer: () => undefined };
const results = [];
for (const args of ${JSON.stringify([...OFFLINE, ONLINE])}) {
  let stderr = '';
  const io = { stdout: () => {}, stderr: (t) => (stderr += t), cwd: process.cwd(), env: {}, clock };
  results.push({ args, code: await runCli(args, io), stderr });
}
process.stdout.write(JSON.stringify(results));
`;

interface Result {
  readonly args: readonly string[];
  readonly code: number;
  readonly stderr: string;
}

describe('offline commands do not load @kubernetes/client-node', () => {
  it('render, explain, matrix and --help succeed without it; status needs it', async () => {
    const child = await runNode(['--input-type=module', '-e', DRIVER], { killAfterMs: 120_000 });
    assert.equal(child.code, 0, child.stderr);
    const results = JSON.parse(child.stdout) as Result[];
    assert.equal(results.length, OFFLINE.length + 1);
    for (const r of results.slice(0, OFFLINE.length)) {
      assert.deepEqual(
        { code: r.code, stderr: r.stderr },
        { code: 0, stderr: '' },
        r.args.join(' '),
      );
    }
    const status = results[OFFLINE.length];
    assert.match(status?.stderr ?? '', /refused to load @kubernetes\/client-node/);
  });
});
