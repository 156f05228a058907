/**
 * The dataplane harness tested on its own, with hand-written nft rules: with
 * no ruleset every probe is answered; a drop rule makes exactly the probes it
 * matches time out; a reply passes where the reverse direction is dropped;
 * and a run leaves no namespace or process behind. If these fail, the
 * policy tests' verdicts mean nothing.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cluster, node, pod } from '../support/builders.js';
import { dataplaneSkipReason, RUN_ID } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';
import { assertMatchesOracle, probeCluster, summarizeReport } from '../support/netns/probe.js';

const skip = dataplaneSkipReason();

const plain = cluster(
  [],
  [
    pod('a/x1', {}, { nodeName: 'n1', ips: ['10.100.1.2', 'fd00:100:0:1::2'] }),
    pod('a/x2', {}, { nodeName: 'n1', ips: ['10.100.1.3', 'fd00:100:0:1::3'] }),
    pod('a/y1', {}, { nodeName: 'n2', ips: ['10.100.2.2', 'fd00:100:0:2::2'] }),
  ],
  [],
  [
    node('n1', { addresses: ['10.99.0.1', 'fd00:99::1'] }),
    node('n2', { addresses: ['10.99.0.2', 'fd00:99::2'] }),
  ],
);

/** A table that drops new flows matching `match` in postrouting. */
function dropScript(match: string): string {
  return [
    'table inet harness {',
    '  chain postrouting {',
    '    type filter hook postrouting priority 0; policy accept;',
    '    ct state established,related accept',
    `    ${match} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

describe('dataplane harness', { skip: skip ?? false }, () => {
  let nc: NetnsCluster;

  before(async () => {
    nc = await NetnsCluster.create();
    await nc.sync(plain);
  });
  after(async () => {
    await nc?.destroy();
  });

  it('answers every probe when no ruleset is loaded', async () => {
    const report = await probeCluster(nc, plain);
    console.log(`no ruleset: ${summarizeReport(report)}`);
    assertMatchesOracle(report);
    assert.ok(report.records.length > 0);
  });

  it('a hand-written drop rule makes exactly the probes it matches time out', async () => {
    await nc.applyScript('n2', dropScript('ip daddr 10.100.2.2 tcp dport 81'));
    await nc.applyScript('n1', dropScript('ip6 daddr fd00:100:0:1::3 udp dport 80'));
    try {
      const report = await probeCluster(nc, plain);
      console.log(`drop rules: ${summarizeReport(report)}`);
      assert.equal(report.harnessErrors.length, 0);
      const expectedDrops = report.records.filter(
        (r) =>
          (r.spec.to === '10.100.2.2' && r.spec.port === 81 && r.spec.protocol === 'TCP') ||
          (r.spec.to === 'fd00:100:0:1::3' && r.spec.port === 80 && r.spec.protocol === 'UDP'),
      );
      assert.ok(expectedDrops.length >= 6, 'the drop rules match probes from pods and hosts');
      assert.deepEqual(
        report.mismatches.map((r) => r.spec).sort(bySpec),
        expectedDrops.map((r) => r.spec).sort(bySpec),
      );
      assert.ok(report.mismatches.every((r) => r.result.outcome === 'timeout'));
      assert.throws(
        () => assertMatchesOracle(report),
        /8 mismatches[\s\S]*kernel vs oracle:[\s\S]*81\/TCP=![\s\S]*oracle's explanation of the first/,
      );
    } finally {
      await nc.flushRulesets();
    }
  });

  it('a reply passes although new flows in the reverse direction are dropped', async () => {
    // x1 (n1) may open flows to y1 (n2); y1 may not open flows to x1.
    await nc.applyScript('n2', dropScript('ip saddr 10.100.2.2 ip daddr 10.100.1.2'));
    try {
      const report = await probeCluster(nc, plain, { hosts: false });
      const v4 = (from: string, to: string) =>
        report.records.filter((r) => r.spec.from === from && r.spec.to === to);
      assert.ok(v4('10.100.1.2', '10.100.2.2').every((r) => r.result.outcome === 'open'));
      assert.ok(v4('10.100.2.2', '10.100.1.2').every((r) => r.result.outcome === 'timeout'));
    } finally {
      await nc.flushRulesets();
    }
  });

  it('probes from a pod to its own host and from a host to its pods are answered by them', async () => {
    const report = await probeCluster(nc, plain);
    const hostToPod = report.records.filter(
      (r) => r.source.kind === 'host' && r.destination.node === r.source.node,
    );
    const podToHost = report.records.filter((r) => r.destination.kind === 'host');
    assert.ok(hostToPod.length > 0 && podToHost.length > 0);
    for (const r of [...hostToPod, ...podToHost])
      assert.equal(r.result.answeredBy, r.destination.agent.name);
  });
});

describe('dataplane harness cleanup', { skip: skip ?? false }, () => {
  it('removes every namespace and agent it created', async () => {
    const nc = await NetnsCluster.create();
    await nc.sync(plain);
    const pids = [...nc.nodes, ...nc.pods].map((x) => x.agent.pid);
    assert.ok(ours().length >= 6);
    await nc.destroy();
    assert.deepEqual(ours(), []);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'agent process is gone');
  });
});

/** This run's namespaces that currently exist. */
function ours(): string[] {
  return readdirSync('/run/netns').filter((n) => n.startsWith(`np${RUN_ID}-`));
}

function bySpec(
  a: { from: string; to: string; port: number; protocol: string },
  b: typeof a,
): number {
  return `${a.from} ${a.to} ${a.port} ${a.protocol}`.localeCompare(
    `${b.from} ${b.to} ${b.port} ${b.protocol}`,
  );
}
