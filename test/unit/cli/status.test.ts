/**
 * `nftpol status` command lines: what parseStatusArgs accepts and refuses
 * (the API calls are exercised in test/integration/cli-status.test.ts). A
 * ClusterNetworkPolicy is selected as `cnp:NAME`; `-n` filters
 * NetworkPolicies only, so it does not go with one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStatusArgs, type StatusOptions } from '../../../src/cli/commands/status.js';
import { UsageError } from '../../../src/cli/errors.js';

describe('parseStatusArgs', () => {
  const rows: {
    name: string;
    values: Record<string, string>;
    positionals: string[];
    want: Omit<StatusOptions, 'connection' | 'output'> | RegExp;
  }[] = [
    { name: 'no argument: every policy', values: {}, positionals: [], want: { what: 'policies' } },
    {
      name: 'a NetworkPolicy within -n',
      values: { namespace: 'shop' },
      positionals: ['web'],
      want: { what: 'policies', namespace: 'shop', policy: 'web' },
    },
    {
      name: 'cnp:NAME selects one ClusterNetworkPolicy',
      values: {},
      positionals: ['cnp:guard'],
      want: { what: 'policies', policy: 'cnp:guard' },
    },
    {
      name: '-n with cnp:NAME is a usage error: ClusterNetworkPolicies are cluster-scoped',
      values: { namespace: 'shop' },
      positionals: ['cnp:guard'],
      want: /^-n does not apply to cnp:guard: ClusterNetworkPolicies are cluster-scoped$/,
    },
    {
      name: 'cnp: without a name is a usage error',
      values: {},
      positionals: ['cnp:'],
      want: /^expected cnp:NAME, got "cnp:"$/,
    },
    {
      name: 'a NetworkPolicy outside -n is a usage error',
      values: { namespace: 'shop' },
      positionals: ['payments/api'],
      want: /^policy payments\/api is not in namespace shop$/,
    },
    { name: 'nodes', values: {}, positionals: ['nodes'], want: { what: 'nodes' } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const parse = (): StatusOptions => parseStatusArgs(row.values, row.positionals);
      if (row.want instanceof RegExp) {
        const pattern = row.want;
        assert.throws(
          parse,
          (err: unknown) => err instanceof UsageError && pattern.test(err.message),
        );
        return;
      }
      assert.deepEqual(parse(), { ...row.want, connection: null, output: 'text' });
    });
  }
});
