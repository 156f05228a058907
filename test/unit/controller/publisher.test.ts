/**
 * The publisher's size decisions, with a fake writer: a script at or below
 * the compression threshold is written as `spec.script`, a larger one as
 * `spec.scriptGzip` (decoding to the same script and hash), and a body that
 * even compressed exceeds the limit is not written at all — logged as an
 * error with the node and sizes, counted, and the last written hash kept.
 */
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RenderedNode } from '../../../src/controller/engine.js';
import { Publisher, type PublisherOptions } from '../../../src/controller/publisher.js';
import type { NodeFirewallApply } from '../../../src/k8s/nodefirewall-api.js';
import { decodeSpecScript } from '../../../src/k8s/script-encoding.js';
import { hashScript } from '../../../src/nft/hash.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { createControllerMetrics } from '../../../src/telemetry/metrics.js';

const SUMMARY = EMPTY_SUMMARY;

function rendered(node: string, script: string): RenderedNode {
  return { node, script, scriptHash: hashScript(script), summary: SUMMARY, addressSets: [] };
}

/** A script that compresses well: many similar lines. */
const repetitive = (lines: number): string =>
  Array.from({ length: lines }, (_, i) => `  ip saddr 10.0.${i % 250}.1 counter accept\n`).join('');
/** A script that does not compress: random hex (gzip keeps it about half its size). */
const incompressible = (bytes: number): string => randomBytes(bytes / 2).toString('hex');

interface Run {
  readonly written: NodeFirewallApply[];
  readonly logs: Array<{ level: string; msg: string; [k: string]: unknown }>;
  readonly oversize: number;
  readonly observed: string | undefined;
}

async function publishOne(
  r: RenderedNode,
  over: Partial<PublisherOptions>,
  observedBefore?: string,
): Promise<Run> {
  const written: NodeFirewallApply[] = [];
  const logs: Run['logs'] = [];
  const metrics = createControllerMetrics();
  const publisher = new Publisher(
    {
      apply: (body) => {
        written.push(body);
        return Promise.resolve();
      },
      remove: () => Promise.resolve(),
    },
    {
      concurrency: 1,
      retryDelayMs: 10,
      clock: { now: () => 0, setTimer: () => null, clearTimer: () => undefined },
      nodeUid: () => 'uid-1',
      retry: () => undefined,
      log: createLogger({
        component: 'test',
        level: 'info',
        destination: { write: (line: string) => logs.push(JSON.parse(line) as Run['logs'][0]) },
      }),
      metrics,
      ...over,
    },
  );
  if (observedBefore !== undefined) publisher.observe(r.node, observedBefore);
  await publisher.publish({ rendered: [r], removed: [] });
  const oversize = (await metrics.oversizeScripts.get()).values[0]?.value ?? 0;
  return { written, logs, oversize, observed: publisher.observedFingerprint(r.node) };
}

describe('Publisher: script size', () => {
  const small = repetitive(10);
  const large = repetitive(5_000);
  const rows: ReadonlyArray<{
    name: string;
    script: string;
    over: Partial<PublisherOptions>;
    want: 'script' | 'scriptGzip' | 'nothing';
  }> = [
    {
      name: 'a script at the threshold is written as text',
      script: small,
      over: { compressThresholdBytes: Buffer.byteLength(small) },
      want: 'script',
    },
    {
      name: 'a script over the threshold is written compressed',
      script: small,
      over: { compressThresholdBytes: Buffer.byteLength(small) - 1 },
      want: 'scriptGzip',
    },
    {
      name: 'without a threshold the default (256 KiB) keeps a small script as text',
      script: small,
      over: {},
      want: 'script',
    },
    {
      name: 'a large script under the body limit once compressed is written compressed',
      script: large,
      over: { compressThresholdBytes: 1_000, maxBodyBytes: Buffer.byteLength(large) / 2 },
      want: 'scriptGzip',
    },
    {
      name: 'a script over the body limit even compressed is not written',
      script: incompressible(40_000),
      over: { compressThresholdBytes: 1_000, maxBodyBytes: 20_000 },
      want: 'nothing',
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const r = rendered('n1', row.script);
      const run = await publishOne(r, row.over, 'sha256:previous');
      if (row.want === 'nothing') {
        assert.equal(run.written.length, 0);
        assert.equal(run.oversize, 1);
        assert.equal(run.observed, 'sha256:previous', 'the last written hash is kept');
        const error = run.logs.find((l) => l.level === 'error');
        assert.ok(error, 'an error is logged');
        assert.equal(error['node'], 'n1');
        assert.equal(error['scriptBytes'], Buffer.byteLength(row.script));
        assert.ok(Number(error['bytes']) > Number(error['limitBytes']));
        return;
      }
      assert.equal(run.written.length, 1);
      assert.equal(run.oversize, 0);
      assert.equal(run.observed, r.scriptHash);
      const spec = run.written[0]!.spec;
      assert.deepEqual(
        ['script', 'scriptGzip'].filter((f) => f in spec),
        [row.want],
      );
      assert.equal(spec.scriptHash, hashScript(row.script), 'the hash of the uncompressed script');
      assert.deepEqual(decodeSpecScript(spec), {
        kind: 'decoded',
        script: row.script,
        compressed: row.want === 'scriptGzip',
      });
    });
  }
});
