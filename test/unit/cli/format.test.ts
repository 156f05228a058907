/**
 * format.ts in-process, for the cases the example cluster does not reach:
 * problem lines with and without a field, warnings, and a matrix wide enough
 * that indices take two digits — the grid must stay aligned and its width
 * independent of pod names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cell, Matrix } from '../../../src/cli/commands/matrix.js';
import { formatMatrixText, formatNodeScripts, formatProblem } from '../../../src/cli/format.js';
import type { Problem } from '../../../src/policy/from-k8s.js';

describe('formatProblem', () => {
  const base: Problem = {
    severity: 'error',
    source: 'a.yaml#2',
    object: 'NetworkPolicy a/deny',
    field: 'spec.ingress[0].ports[0].endPort',
    message: 'endPort must not be less than port',
  };
  const cases: { name: string; problem: Problem; line: string }[] = [
    {
      name: 'an error is source: object: field: message',
      problem: base,
      line: 'a.yaml#2: NetworkPolicy a/deny: spec.ingress[0].ports[0].endPort: endPort must not be less than port',
    },
    {
      name: 'a warning says so before the message',
      problem: { ...base, severity: 'warning' },
      line: 'a.yaml#2: NetworkPolicy a/deny: spec.ingress[0].ports[0].endPort: warning: endPort must not be less than port',
    },
    {
      name: 'a problem about the whole object leaves out the empty field',
      problem: { ...base, field: '' },
      line: 'a.yaml#2: NetworkPolicy a/deny: endPort must not be less than port',
    },
    {
      name: 'a problem about a file leaves out object and field',
      problem: {
        ...base,
        object: '',
        field: '',
        message: 'cannot read a.yaml: no such file or directory',
      },
      line: 'a.yaml#2: cannot read a.yaml: no such file or directory',
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(formatProblem(c.problem), c.line));
  }
});

describe('formatNodeScripts', () => {
  it('keeps the "# node: NAME" header on one line, whatever the name holds', () => {
    for (const b of ['\n', '\r', '\u0085', '\u2028']) {
      const text = formatNodeScripts([
        { node: `n2${b}flush ruleset${b}#`, script: 'table inet nftpol {\n}\n', scriptHash: '' },
      ]);
      const lines = text.split(/\r\n|[\n\r\u0085\u2028\u2029]/);
      assert.equal(lines[0], '# node: n2 flush ruleset #', JSON.stringify(b));
      assert.deepEqual(lines.slice(1), ['table inet nftpol {', '}', '']);
    }
  });
});

describe('formatMatrixText', () => {
  function matrixOf(n: number, cell: (i: number, j: number) => Cell): Matrix {
    const pods = Array.from({ length: n }, (_, i) => `ns/pod-${String(i).padStart(2, '0')}`);
    return {
      port: 80,
      protocol: 'TCP',
      pods,
      cells: pods.map((_, i) => pods.map((__, j) => cell(i, j))),
    };
  }

  it('eleven pods: two-digit indices, every row the same width, names after the grid', () => {
    const text = formatMatrixText(matrixOf(11, (i, j) => (i === j ? 'allowed' : 'denied')));
    const lines = text.split('\n');
    assert.equal(lines[2], '     0  1  2  3  4  5  6  7  8  9 10');
    assert.equal(lines[3], ' 0   A  .  .  .  .  .  .  .  .  .  .  ns/pod-00');
    assert.equal(lines[13], '10   .  .  .  .  .  .  .  .  .  .  A  ns/pod-10');
    assert.equal(lines.at(-2), '11 of 121 pairs allowed');
  });

  it('long pod names do not move the grid', () => {
    const short = formatMatrixText(matrixOf(2, () => 'allowed')).split('\n');
    const m = matrixOf(2, () => 'allowed');
    const long = formatMatrixText({ ...m, pods: ['a/x', `b/${'y'.repeat(200)}`] }).split('\n');
    assert.equal(long[4]?.indexOf('b/'), short[4]?.indexOf('ns/'));
  });

  it('a not-evaluated cell is "-" and the legend explains it', () => {
    const text = formatMatrixText(matrixOf(2, (_, j) => (j === 1 ? 'no-port' : 'allowed')));
    assert.match(text, /^-: the destination has no such named port/m);
    assert.match(text, /^0 {2}A - {2}ns\/pod-00$/m);
    assert.match(text, /^2 of 4 pairs allowed$/m);
  });

  it('no pods: one line saying so', () => {
    assert.equal(
      formatMatrixText(matrixOf(0, () => 'allowed')),
      'TCP/80: no pods with IPs in the input\n',
    );
  });
});
