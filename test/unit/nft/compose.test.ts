/**
 * compose.ts as tables that read like the v2 contract: member order and
 * dedup, which texts are canonical members (and what the error says about
 * those that are not), the v4/v6 split of one id into its two nft sets,
 * 1000 elements per line, empty and undeclared sets, and the delta's
 * deletes-then-adds transaction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareMembers,
  composeElements,
  composeScript,
  declaredSharedSets,
  MAX_ELEMENTS_PER_LINE,
  MemberError,
  memberDelta,
  parseMember,
  sortMembers,
} from '../../../src/nft/compose.js';
import type { SharedSetKind } from '../../../src/nft/members.js';

const PODS = 'pods-0123456789abcdef';
const PORT = 'port-fedcba9876543210';
const OTHER = 'pods-1111111111111111';

/** A rules script declaring `sets` (nft names) the way render does. */
function rules(...sets: string[]): string {
  const decl = sets.map((name) => {
    const type = name.startsWith('port_')
      ? `${name.endsWith('_4') ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service`
      : name.endsWith('_4')
        ? 'ipv4_addr'
        : 'ipv6_addr';
    return `\tset ${name} {\n\t\ttype ${type}\n\t}\n`;
  });
  return `add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n${decl.join('\n')}}\n`;
}

const RULES = rules(
  'pods_0123456789abcdef_4',
  'pods_0123456789abcdef_6',
  'port_fedcba9876543210_4',
  'port_fedcba9876543210_6',
);

const members = (entries: Record<string, readonly string[]>): Map<string, readonly string[]> =>
  new Map(Object.entries(entries));

describe('sortMembers and compareMembers', () => {
  const ROWS: ReadonlyArray<{ name: string; input: string[]; want: string[] }> = [
    {
      name: 'addresses sort numerically, not as text',
      input: ['10.0.0.10', '10.0.0.9', '9.255.255.255', '10.0.0.100'],
      want: ['9.255.255.255', '10.0.0.9', '10.0.0.10', '10.0.0.100'],
    },
    {
      name: 'IPv6 sorts numerically too, and after IPv4',
      input: ['fd00::10', '10.0.0.1', 'fd00::9', '::1', 'fd00:0:0:1::'],
      want: ['10.0.0.1', '::1', 'fd00::9', 'fd00::10', 'fd00:0:0:1::'],
    },
    {
      name: 'addr . proto . port: address, then protocol text, then port numerically',
      input: [
        '10.0.0.2 . tcp . 80',
        '10.0.0.1 . udp . 53',
        '10.0.0.1 . tcp . 8080',
        '10.0.0.1 . tcp . 443',
        '10.0.0.1 . sctp . 9999',
      ],
      want: [
        '10.0.0.1 . sctp . 9999',
        '10.0.0.1 . tcp . 443',
        '10.0.0.1 . tcp . 8080',
        '10.0.0.1 . udp . 53',
        '10.0.0.2 . tcp . 80',
      ],
    },
    {
      name: 'duplicates are removed',
      input: ['10.0.0.1', 'fd00::1', '10.0.0.1', 'fd00::1', '10.0.0.1'],
      want: ['10.0.0.1', 'fd00::1'],
    },
    { name: 'an empty list stays empty', input: [], want: [] },
  ];
  for (const row of ROWS) {
    it(row.name, () => {
      assert.deepEqual(sortMembers(row.input), row.want);
      for (let i = 1; i < row.want.length; i++) {
        assert.ok(compareMembers(row.want[i - 1]!, row.want[i]!) < 0, `${i - 1} < ${i}`);
        assert.ok(compareMembers(row.want[i]!, row.want[i - 1]!) > 0, `${i} > ${i - 1}`);
      }
    });
  }

  it('compares equal members as 0', () => {
    assert.equal(compareMembers('fd00::7 . udp . 53', 'fd00::7 . udp . 53'), 0);
  });

  it('refuses to sort a text that is not a member', () => {
    assert.throws(() => sortMembers(['10.0.0.1', '10.0.0.01']), MemberError);
  });
});

describe('parseMember', () => {
  const GOOD: ReadonlyArray<[string, SharedSetKind, string]> = [
    ['10.0.0.7', 'addr', 'ip'],
    ['0.0.0.0', 'addr', 'ip'],
    ['fd00::7', 'addr', 'ip6'],
    ['::', 'addr', 'ip6'],
    ['10.0.0.7 . tcp . 8080', 'addrPort', 'ip'],
    ['fd00::7 . udp . 53', 'addrPort', 'ip6'],
    ['10.0.0.7 . sctp . 0', 'addrPort', 'ip'],
    ['10.0.0.7 . tcp . 65535', 'addrPort', 'ip'],
  ];
  for (const [text, kind, family] of GOOD) {
    it(`accepts ${JSON.stringify(text)} as ${kind} (${family})`, () => {
      assert.equal(parseMember(text, kind).family, family);
    });
  }

  it('gives the parts of a named-port member', () => {
    assert.deepEqual(parseMember('10.0.0.7 . tcp . 8080', 'addrPort'), {
      kind: 'addrPort',
      family: 'ip',
      address: 0x0a000007n,
      proto: 'tcp',
      port: 8080,
    });
  });

  const BAD: ReadonlyArray<[string, SharedSetKind, string]> = [
    ['10.0.0.300', 'addr', '"10.0.0.300" is not an IPv4 or IPv6 address'],
    ['10.0.0.07', 'addr', '"10.0.0.07" is not an IPv4 or IPv6 address'],
    ['', 'addr', '"" is not an IPv4 or IPv6 address'],
    [' 10.0.0.1', 'addr', '" 10.0.0.1" is not an IPv4 or IPv6 address'],
    ['10.0.0.0/24', 'addr', '"10.0.0.0/24" is not an IPv4 or IPv6 address'],
    ['FD00::1', 'addr', '"FD00::1" is not in canonical form (fd00::1)'],
    ['fd00:0::1', 'addr', '"fd00:0::1" is not in canonical form (fd00::1)'],
    ['10.0.0.7 . tcp . 80', 'addr', '"10.0.0.7 . tcp . 80" is not an IPv4 or IPv6 address'],
    ['10.0.0.7', 'addrPort', '"10.0.0.7" is not <address> . <protocol> . <port>'],
    ['10.0.0.7 . tcp', 'addrPort', '"10.0.0.7 . tcp" is not <address> . <protocol> . <port>'],
    [
      '10.0.0.7 .tcp . 80',
      'addrPort',
      '"10.0.0.7 .tcp . 80" is not <address> . <protocol> . <port>',
    ],
    [
      '10.0.0.700 . tcp . 80',
      'addrPort',
      '"10.0.0.700 . tcp . 80": "10.0.0.700" is not an IPv4 or IPv6 address',
    ],
    [
      'FD00::7 . tcp . 80',
      'addrPort',
      '"FD00::7 . tcp . 80": "FD00::7" is not in canonical form (fd00::7)',
    ],
    [
      '10.0.0.7 . TCP . 80',
      'addrPort',
      '"10.0.0.7 . TCP . 80": protocol "TCP" is not tcp, udp or sctp',
    ],
    [
      '10.0.0.7 . icmp . 80',
      'addrPort',
      '"10.0.0.7 . icmp . 80": protocol "icmp" is not tcp, udp or sctp',
    ],
    [
      '10.0.0.7 . tcp . 65536',
      'addrPort',
      '"10.0.0.7 . tcp . 65536": port "65536" is not a number from 0 to 65535',
    ],
    [
      '10.0.0.7 . tcp . 080',
      'addrPort',
      '"10.0.0.7 . tcp . 080": port "080" is not a number from 0 to 65535',
    ],
    [
      '10.0.0.7 . tcp . http',
      'addrPort',
      '"10.0.0.7 . tcp . http": port "http" is not a number from 0 to 65535',
    ],
    [
      '10.0.0.7 . tcp . -1',
      'addrPort',
      '"10.0.0.7 . tcp . -1": port "-1" is not a number from 0 to 65535',
    ],
  ];
  for (const [text, kind, message] of BAD) {
    it(`refuses ${JSON.stringify(text)} as ${kind}: ${message}`, () => {
      assert.throws(
        () => parseMember(text, kind),
        (err: unknown) =>
          err instanceof MemberError && err.message === message && err.member === text,
      );
    });
  }
});

describe('declaredSharedSets', () => {
  it('finds the shared sets a script declares, sorted by name, and nothing else', () => {
    const script = [
      'table inet nftpol {',
      '\tset port_fedcba9876543210_6 {',
      '\t\ttype ipv6_addr . inet_proto . inet_service',
      '\t}',
      '\tset addrPort4_web {',
      '\t\ttype ipv4_addr . inet_proto . inet_service',
      '\t}',
      '\tset pods_0123456789abcdef_4 {',
      '\t\ttype ipv4_addr',
      '\t}',
      '\tmap ingress4 {',
      '\t}',
      '# \tset pods_2222222222222222_4 { (not a declaration: not at line start)',
      '\t\tset pods_3333333333333333_4 {',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(declaredSharedSets(script), [
      { name: 'pods_0123456789abcdef_4', id: PODS, family: 'ip', kind: 'addr' },
      { name: 'port_fedcba9876543210_6', id: PORT, family: 'ip6', kind: 'addrPort' },
    ]);
  });

  it('finds none in a script without shared sets', () => {
    assert.deepEqual(declaredSharedSets('table inet nftpol {\n}\n'), []);
  });
});

describe('composeScript', () => {
  const ROWS: ReadonlyArray<{
    name: string;
    rules: string;
    members: Record<string, readonly string[]>;
    added: string[];
  }> = [
    {
      name: 'no members: the rules script itself',
      rules: RULES,
      members: {},
      added: [],
    },
    {
      name: 'a set id with an empty member list gets no line',
      rules: RULES,
      members: { [PODS]: [], [PORT]: [] },
      added: [],
    },
    {
      name: 'one id is split into its IPv4 and IPv6 sets, each sorted',
      rules: RULES,
      members: { [PODS]: ['fd00::2', '10.0.0.2', 'fd00::1', '10.0.0.1'] },
      added: [
        'add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1, 10.0.0.2 }',
        'add element inet nftpol pods_0123456789abcdef_6 { fd00::1, fd00::2 }',
      ],
    },
    {
      name: 'sets in ascending name order, named-port members as concatenations',
      rules: RULES,
      members: {
        [PORT]: ['fd00::7 . udp . 53', '10.0.0.7 . tcp . 8080', '10.0.0.7 . tcp . 80'],
        [PODS]: ['10.0.0.9'],
      },
      added: [
        'add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.9 }',
        'add element inet nftpol port_fedcba9876543210_4 { 10.0.0.7 . tcp . 80, 10.0.0.7 . tcp . 8080 }',
        'add element inet nftpol port_fedcba9876543210_6 { fd00::7 . udp . 53 }',
      ],
    },
    {
      name: 'members of a family the script has no set for are left out',
      rules: rules('pods_0123456789abcdef_4'),
      members: { [PODS]: ['10.0.0.1', 'fd00::1'] },
      added: ['add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1 }'],
    },
    {
      name: 'members of an id the script does not declare are ignored',
      rules: RULES,
      members: { [OTHER]: ['10.0.0.1'], [PODS]: ['10.0.0.2'] },
      added: ['add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.2 }'],
    },
    {
      name: 'duplicates across slices are added once',
      rules: RULES,
      members: { [PODS]: ['10.0.0.2', '10.0.0.1', '10.0.0.2'] },
      added: ['add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1, 10.0.0.2 }'],
    },
  ];
  for (const row of ROWS) {
    it(row.name, () => {
      const script = composeScript(row.rules, members(row.members));
      assert.ok(script.startsWith(row.rules));
      const tail = script.slice(row.rules.length);
      assert.deepEqual(
        tail === '' ? [] : tail.split('\n'),
        row.added.length === 0 ? [] : [...row.added, ''],
      );
    });
  }

  it('returns the very rules script when there is nothing to add', () => {
    assert.equal(composeScript(RULES, new Map()), RULES);
  });

  it(`puts at most ${MAX_ELEMENTS_PER_LINE} elements on a line`, () => {
    const ips = Array.from({ length: 2500 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const script = composeScript(RULES, members({ [PODS]: [...ips].reverse() }));
    const lines = script.slice(RULES.length).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const counts = lines.map((l) => l.split(', ').length);
    assert.deepEqual(counts, [1000, 1000, 500]);
    assert.ok(lines[0]!.startsWith('add element inet nftpol pods_0123456789abcdef_4 { 10.1.0.0, '));
    assert.ok(
      lines[1]!.includes('{ 10.1.3.232, '),
      'the second line goes on where the first ended',
    );
    assert.ok(lines[2]!.endsWith(', 10.1.9.195 }'));
  });

  it('adds a newline after a rules script that lacks one', () => {
    const bare = RULES.trimEnd();
    assert.equal(
      composeScript(bare, members({ [PODS]: ['10.0.0.1'] })),
      `${bare}\nadd element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1 }\n`,
    );
  });

  it('refuses a member that does not fit its set kind', () => {
    assert.throws(
      () => composeScript(RULES, members({ [PORT]: ['10.0.0.1'] })),
      /"10.0.0.1" is not <address> . <protocol> . <port>/,
    );
    assert.throws(() => composeScript(RULES, members({ [PODS]: ['10.0.0.01'] })), MemberError);
  });

  it('composeElements lists every declared set, empty ones too', () => {
    assert.deepEqual(
      [...composeElements(RULES, members({ [PODS]: ['fd00::1'] }))],
      [
        ['pods_0123456789abcdef_4', []],
        ['pods_0123456789abcdef_6', ['fd00::1']],
        ['port_fedcba9876543210_4', []],
        ['port_fedcba9876543210_6', []],
      ],
    );
  });
});

describe('memberDelta', () => {
  const ROWS: ReadonlyArray<{
    name: string;
    before: Record<string, readonly string[]>;
    after: Record<string, readonly string[]>;
    want: string[] | null;
  }> = [
    {
      name: 'nothing changed: null',
      before: { [PODS]: ['10.0.0.1', 'fd00::1'] },
      after: { [PODS]: ['fd00::1', '10.0.0.1', '10.0.0.1'] },
      want: null,
    },
    {
      name: 'one member added',
      before: { [PODS]: ['10.0.0.1'] },
      after: { [PODS]: ['10.0.0.1', '10.0.0.2'] },
      want: ['add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.2 }'],
    },
    {
      name: 'one member removed',
      before: { [PODS]: ['10.0.0.1', '10.0.0.2'] },
      after: { [PODS]: ['10.0.0.2'] },
      want: ['delete element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1 }'],
    },
    {
      name: 'every delete before every add, sets ascending within each',
      before: {
        [PODS]: ['10.0.0.1', 'fd00::1'],
        [PORT]: ['10.0.0.7 . tcp . 80'],
      },
      after: {
        [PODS]: ['10.0.0.2', 'fd00::1', 'fd00::2'],
        [PORT]: ['10.0.0.7 . tcp . 81'],
      },
      want: [
        'delete element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1 }',
        'delete element inet nftpol port_fedcba9876543210_4 { 10.0.0.7 . tcp . 80 }',
        'add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.2 }',
        'add element inet nftpol pods_0123456789abcdef_6 { fd00::2 }',
        'add element inet nftpol port_fedcba9876543210_4 { 10.0.0.7 . tcp . 81 }',
      ],
    },
    {
      name: 'a set that has no entry before counts as empty',
      before: {},
      after: { [PODS]: ['10.0.0.2', '10.0.0.1'] },
      want: ['add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1, 10.0.0.2 }'],
    },
    {
      name: 'a set that has no entry after counts as empty',
      before: { [PORT]: ['fd00::7 . udp . 53'] },
      after: {},
      want: ['delete element inet nftpol port_fedcba9876543210_6 { fd00::7 . udp . 53 }'],
    },
    {
      name: 'changes of ids the script does not declare are ignored',
      before: { [OTHER]: ['10.0.0.1'] },
      after: { [OTHER]: ['10.0.0.2'] },
      want: null,
    },
  ];
  for (const row of ROWS) {
    it(row.name, () => {
      const delta = memberDelta(RULES, members(row.before), members(row.after));
      assert.deepEqual(delta === null ? null : delta.split('\n'), row.want && [...row.want, '']);
    });
  }

  it(`chunks deletes and adds at ${MAX_ELEMENTS_PER_LINE} elements a line`, () => {
    const ips = (n: number, third: number) =>
      Array.from({ length: n }, (_, i) => `10.${third}.${i >> 8}.${i & 255}`);
    const delta = memberDelta(
      RULES,
      members({ [PODS]: ips(1500, 1) }),
      members({ [PODS]: ips(2001, 2) }),
    );
    const lines = delta!.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => `${l.split(' ')[0]} ${l.split(', ').length}`),
      ['delete 1000', 'delete 500', 'add 1000', 'add 1000', 'add 1'],
    );
  });

  it('applied to the composed script of before, gives the elements of after', () => {
    const before = members({ [PODS]: ['10.0.0.1', '10.0.0.3'], [PORT]: ['10.0.0.7 . tcp . 80'] });
    const after = members({ [PODS]: ['10.0.0.2', '10.0.0.3'], [PORT]: [] });
    const elements = new Map(
      [...composeElements(RULES, before)].map(([k, v]) => [k, new Set(v)] as const),
    );
    for (const line of memberDelta(RULES, before, after)!.trimEnd().split('\n')) {
      const m = /^(add|delete) element inet nftpol (\S+) \{ (.*) \}$/.exec(line)!;
      for (const e of m[3]!.split(', ')) {
        if (m[1] === 'add') elements.get(m[2]!)!.add(e);
        else assert.ok(elements.get(m[2]!)!.delete(e), `${e} was there to delete`);
      }
    }
    assert.deepEqual(
      [...elements].map(([k, v]) => [k, sortMembers(v)]),
      [...composeElements(RULES, after)],
    );
  });
});
