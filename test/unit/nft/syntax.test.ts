import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Family, Protocol } from '../../../src/policy/model.js';
import type { ProtocolPort, SharedSetKind } from '../../../src/policy/plan.js';
import {
  COMMENT_MAX_BYTES,
  RenderError,
  formatAddrRange,
  formatCidr,
  formatName,
  formatPortRange,
  formatProtocol,
  formatProtocolPort,
  formatSetType,
  quoteComment,
} from '../../../src/nft/syntax.js';
import { NFT_SKIP_REASON, checkInNetns } from '../../support/nft-check.js';

describe('formatAddrRange', () => {
  const cases: readonly { name: string; first: string; last: string; want: string }[] = [
    {
      name: 'a single IPv4 address is bare',
      first: '10.0.0.5',
      last: '10.0.0.5',
      want: '10.0.0.5',
    },
    {
      name: 'an exact IPv4 prefix is a CIDR',
      first: '10.0.0.0',
      last: '10.0.0.255',
      want: '10.0.0.0/24',
    },
    {
      name: 'the whole IPv4 space is /0',
      first: '0.0.0.0',
      last: '255.255.255.255',
      want: '0.0.0.0/0',
    },
    {
      name: 'a two-address aligned block is a /31',
      first: '10.0.0.2',
      last: '10.0.0.3',
      want: '10.0.0.2/31',
    },
    {
      name: 'a power-of-two size that is not aligned is a range',
      first: '10.0.0.1',
      last: '10.0.0.2',
      want: '10.0.0.1-10.0.0.2',
    },
    {
      name: 'an aligned start with a non power-of-two size is a range',
      first: '10.0.0.0',
      last: '10.0.0.2',
      want: '10.0.0.0-10.0.0.2',
    },
    {
      name: 'a single IPv6 address is bare and canonical',
      first: 'FD00:0:0:0:0:0:0:1',
      last: 'fd00::1',
      want: 'fd00::1',
    },
    {
      name: 'an exact IPv6 prefix is a CIDR',
      first: 'fd00:10:244:1::',
      last: 'fd00:10:244:1:ffff:ffff:ffff:ffff',
      want: 'fd00:10:244:1::/64',
    },
    {
      name: 'the whole IPv6 space is ::/0',
      first: '::',
      last: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      want: '::/0',
    },
    {
      name: 'an IPv6 range that is not a prefix is first-last',
      first: 'fd00::1',
      last: 'fd00::9',
      want: 'fd00::1-fd00::9',
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(formatAddrRange({ first: c.first, last: c.last }), c.want));
  }

  it('rejects a range whose last address is below its first', () => {
    assert.throws(() => formatAddrRange({ first: '10.0.0.9', last: '10.0.0.1' }), RenderError);
  });

  it('rejects a range mixing families', () => {
    assert.throws(() => formatAddrRange({ first: '10.0.0.1', last: 'fd00::1' }), RenderError);
  });
});

describe('formatCidr', () => {
  it('clears host bits and writes the canonical prefix', () => {
    assert.equal(formatCidr('10.244.1.7/24'), '10.244.1.0/24');
    assert.equal(formatCidr('FD00:10:244:1::/64'), 'fd00:10:244:1::/64');
  });
});

describe('formatPortRange and formatProtocol', () => {
  it('writes one port bare and a range as first-last', () => {
    assert.equal(formatPortRange({ first: 80, last: 80 }), '80');
    assert.equal(formatPortRange({ first: 8000, last: 8099 }), '8000-8099');
    assert.equal(formatPortRange({ first: 0, last: 65535 }), '0-65535');
  });

  const protocols: readonly [Protocol, string][] = [
    ['TCP', 'tcp'],
    ['UDP', 'udp'],
    ['SCTP', 'sctp'],
  ];
  for (const [p, want] of protocols) {
    it(`names ${p} as nft does: ${want}`, () => assert.equal(formatProtocol(p), want));
  }
});

describe('formatSetType', () => {
  const cases: readonly { kind: SharedSetKind; family: Family; want: string }[] = [
    { kind: 'addr', family: 'ip', want: 'ipv4_addr' },
    { kind: 'addr', family: 'ip6', want: 'ipv6_addr' },
    { kind: 'addrPort', family: 'ip', want: 'ipv4_addr . inet_proto . inet_service' },
    { kind: 'addrPort', family: 'ip6', want: 'ipv6_addr . inet_proto . inet_service' },
  ];
  for (const c of cases) {
    it(`a shared ${c.kind} set of family ${c.family} is ${c.want}`, () =>
      assert.equal(formatSetType(c.kind, c.family), c.want));
  }
});

describe('formatProtocolPort', () => {
  const cases: readonly { name: string; port: ProtocolPort; want: string }[] = [
    {
      name: 'one port is protocol . port',
      port: { protocol: 'TCP', port: { first: 80, last: 80 } },
      want: 'tcp . 80',
    },
    {
      name: 'a range is protocol . first-last',
      port: { protocol: 'UDP', port: { first: 8000, last: 8080 } },
      want: 'udp . 8000-8080',
    },
    {
      name: 'SCTP over every port',
      port: { protocol: 'SCTP', port: { first: 0, last: 65535 } },
      want: 'sctp . 0-65535',
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(formatProtocolPort(c.port), c.want));
  }
});

describe('formatName', () => {
  const valid = [
    'in_shop_web',
    'eg_kube-system_coredns-5d78c9869d-abcde',
    'pods_0123456789abcdef_4',
    'port_0123456789abcdef_6',
    'in_a_b.c',
    `in_${'x'.repeat(252)}`,
  ];
  for (const name of valid) {
    it(`accepts ${name.length > 40 ? `a ${name.length}-byte name` : name}`, () =>
      assert.equal(formatName(name), name));
  }

  const invalid: readonly [string, RegExp][] = [
    ['in a', /not a valid nft name/],
    ['1abc', /not a valid nft name/],
    ['in_"x"', /not a valid nft name/],
    ['', /not a valid nft name/],
    [`in_${'x'.repeat(253)}`, /longer than 255 bytes/],
  ];
  for (const [name, error] of invalid) {
    it(`rejects ${name.length > 40 ? `a ${name.length}-byte name` : JSON.stringify(name)}`, () =>
      assert.throws(
        () => formatName(name),
        (e) => e instanceof RenderError && error.test(e.message),
      ));
  }
});

describe('quoteComment', () => {
  const cases: readonly { name: string; head: string; tail?: string; want: string }[] = [
    {
      name: 'short text is quoted as is',
      head: 'a/allow ingress rule 0',
      want: '"a/allow ingress rule 0"',
    },
    {
      name: 'double quotes become single quotes (nft strings have no escapes)',
      head: 'say "hi"',
      want: `"say 'hi'"`,
    },
    { name: 'newlines and control characters become spaces', head: 'a\nb\tc', want: '"a b c"' },
    {
      name: 'C1 controls (NEL, CSI) and Unicode line separators become spaces too',
      head: 'a\u0085b\u009bc\u2028d\u2029e\u007ff',
      want: '"a b c d e f"',
    },
    { name: 'unicode is kept when it fits', head: 'ünïcødé ☃', want: '"ünïcødé ☃"' },
    {
      name: 'exactly 128 bytes is kept whole',
      head: 'x'.repeat(128),
      want: `"${'x'.repeat(128)}"`,
    },
    {
      name: '129 bytes is cut to 125 and an ellipsis',
      head: 'x'.repeat(129),
      want: `"${'x'.repeat(125)}…"`,
    },
    {
      name: 'the tail survives a long head',
      head: 'p'.repeat(200),
      tail: ' ingress rule 7',
      want: `"${'p'.repeat(128 - 3 - 15)}… ingress rule 7"`,
    },
    {
      name: 'a multi-byte character is never split',
      head: `${'x'.repeat(124)}☃☃`,
      want: `"${'x'.repeat(124)}…"`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(quoteComment(c.head, c.tail), c.want));
  }

  it('never exceeds 128 bytes, whatever the input', () => {
    for (const head of ['é'.repeat(100), '☃'.repeat(60), 'x'.repeat(500)]) {
      for (const tail of ['', ' egress denied', 'é'.repeat(80)]) {
        const inner = quoteComment(head, tail).slice(1, -1);
        assert.ok(Buffer.byteLength(inner) <= COMMENT_MAX_BYTES, `${head.length}/${tail.length}`);
      }
    }
  });

  it('produces comments nft accepts at the limit', { skip: NFT_SKIP_REASON }, () => {
    const lines = [
      'x'.repeat(300),
      `${'x'.repeat(126)}é☃`,
      'quote"d\nline',
      `${'é'.repeat(70)}`,
    ].map((t, i) => `\t\tcounter comment ${quoteComment(t, ` rule ${i}`)}`);
    return checkInNetns(`table inet nftpol_syntax {\n\tchain c {\n${lines.join('\n')}\n\t}\n}\n`);
  });
});
