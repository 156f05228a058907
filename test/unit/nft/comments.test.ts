/**
 * comments: what render writes on a pod chain's rules reads back as the same
 * pod, policy, direction and rule, including names cut to fit nft's 128-byte
 * comment and text that quoting changed; comments nftpol does not attribute
 * read back as nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatAllowComment,
  formatDenyComment,
  parseRuleComment,
  type RuleComment,
} from '../../../src/nft/comments.js';

/** The comment as `nft -j` lists it: the quoted token without its quotes. */
const listed = (quoted: string): string => {
  assert.match(quoted, /^".*"$/);
  return quoted.slice(1, -1);
};

const LONG = `team-a/${'x'.repeat(200)}`;
const CUT = `team-a/${'x'.repeat(128 - 'team-a/… ingress rule 12'.length - 2)}…`;

const ROUND_TRIPS: readonly { name: string; written: string; want: RuleComment }[] = [
  {
    name: 'a deny line names its pod and direction',
    written: formatDenyComment('shop/web', 'egress'),
    want: { kind: 'deny', pod: 'shop/web', direction: 'egress' },
  },
  {
    name: 'an allow line names its policy, direction and rule index',
    written: formatAllowComment('shop/lockdown', 'ingress', 3),
    want: { kind: 'allow', policy: 'shop/lockdown', direction: 'ingress', rule: 3 },
  },
  {
    name: 'a pod name too long for the comment comes back cut, ending in …',
    written: formatDenyComment(LONG, 'ingress'),
    want: {
      kind: 'deny',
      pod: `team-a/${'x'.repeat(128 - 'team-a/… ingress denied'.length - 2)}…`,
      direction: 'ingress',
    },
  },
  {
    name: 'a policy name too long for the comment keeps its rule index',
    written: formatAllowComment(LONG, 'ingress', 12),
    want: { kind: 'allow', policy: CUT, direction: 'ingress', rule: 12 },
  },
  {
    name: 'multi-byte names are cut on a character boundary and still parse',
    written: formatDenyComment(`ns/${'é'.repeat(100)}`, 'egress'),
    want: {
      kind: 'deny',
      pod: `ns/${'é'.repeat((128 - Buffer.byteLength('ns/… egress denied')) >> 1)}…`,
      direction: 'egress',
    },
  },
];

describe('rule comments round-trip from render to the counter read-back', () => {
  for (const row of ROUND_TRIPS) {
    it(row.name, () => {
      const text = listed(row.written);
      assert.ok(Buffer.byteLength(text, 'utf8') <= 128, 'fits nft comment limit');
      assert.deepEqual(parseRuleComment(text), row.want);
    });
  }
});

describe('parseRuleComment', () => {
  const NOT_OURS = [
    'fail-closed: pod not yet programmed',
    'managed by nftpol; replaced as a whole on every apply',
    'shop/web sideways denied',
    'shop/web ingress rule x',
    'web ingress denied',
    '',
  ];
  for (const comment of NOT_OURS) {
    it(`reads ${JSON.stringify(comment)} as no pod-chain comment`, () => {
      assert.equal(parseRuleComment(comment), null);
    });
  }
});
