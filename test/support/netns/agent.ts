/**
 * The one process that runs inside each network namespace of the dataplane
 * tier: it answers on TCP and UDP (the pod or host being probed) and it runs
 * batches of probes from its namespace (the client). One long-lived process
 * per namespace keeps the tier fast: no process is spawned per probe.
 *
 * Usage: `node --import tsx agent.ts <name> <port>...` — listens on [::] (both
 * families) on every port, TCP and UDP, then prints `{"event":"ready"}` on
 * stdout. Then reads {@link AgentRequest}s, one JSON per line, on stdin and
 * answers each with one JSON line ({@link AgentResponse}).
 *
 * A TCP server writes its name and closes; a UDP server echoes the datagram
 * prefixed with its name, so every answer says which namespace gave it.
 * The process exits when stdin closes, so a crashed test leaves no server.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

/** What a probe client asks for: one new flow from `from`:`sport` to `to`:`port`. */
export interface ProbeSpec {
  readonly protocol: 'TCP' | 'UDP';
  readonly from: string;
  readonly to: string;
  readonly port: number;
  /** Source port; unique per probe so that no stale conntrack entry is reused. */
  readonly sport: number;
}

/**
 * What the kernel did:
 *  - `open`: TCP connected / UDP answered — allowed;
 *  - `timeout`: nothing came back in time — dropped;
 *  - `refused`: RST or ICMP unreachable — a harness bug (nothing listens, or a reject rule);
 *  - `error`: the probe could not be sent (bind failed, no route…) — a harness bug.
 */
export type ProbeOutcome = 'open' | 'timeout' | 'refused' | 'error';

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  /** Milliseconds until the outcome. */
  readonly ms: number;
  /** The answering agent's name, when an answer arrived. */
  readonly answeredBy?: string;
  /** Error code, when there was one. */
  readonly detail?: string;
}

export type AgentRequest =
  | { readonly id: number; readonly op: 'listen'; readonly ports: readonly number[] }
  | {
      readonly id: number;
      readonly op: 'probe';
      readonly timeoutMs: number;
      readonly concurrency: number;
      readonly probes: readonly ProbeSpec[];
    };

export type AgentResponse =
  | { readonly id: number; readonly ok: true; readonly results?: readonly ProbeResult[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

const name = process.argv[2] ?? 'agent';
const listening = new Set<number>();

/** Listen on TCP and UDP `port` on [::] (dual-stack). Resolves when both are bound. */
async function listen(port: number): Promise<void> {
  if (listening.has(port)) return;
  listening.add(port);
  const tcp = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${name}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ host: '::', port, ipv6Only: false }, resolve);
  });
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => {
    udp.send(`${name} ${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ address: '::', port }, resolve);
  });
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
}

/** One TCP connect. `open` as soon as the handshake completes (the name is read if it comes in time). */
function probeTcp(p: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let connected = false;
    let settled = false;
    let answer = '';
    const socket = net.connect({
      host: p.to,
      port: p.port,
      localAddress: p.from,
      localPort: p.sport,
    });
    const finish = (outcome: ProbeOutcome, detail?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        outcome,
        ms: Math.round(performance.now() - started),
        ...(answer ? { answeredBy: answer.trim() } : {}),
        ...(detail ? { detail } : {}),
      });
    };
    const timer = setTimeout(() => finish(connected ? 'open' : 'timeout'), timeoutMs);
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    socket.on('end', () => finish('open'));
    socket.on('error', (err) => {
      const code = errorCode(err);
      if (connected) finish('open', code);
      else finish(code === 'ECONNREFUSED' ? 'refused' : 'error', code);
    });
  });
}

/** One UDP request/response; only an answer carrying this probe's token counts. */
function probeUdp(p: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const token = `probe-${p.sport}-${Math.random().toString(36).slice(2)}`;
    const socket = dgram.createSocket(p.to.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (outcome: ProbeOutcome, extra: Partial<ProbeResult> = {}): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve({ outcome, ms: Math.round(performance.now() - started), ...extra });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('error', (err) => {
      const code = errorCode(err);
      finish(code === 'ECONNREFUSED' ? 'refused' : 'error', { detail: code });
    });
    socket.on('message', (msg) => {
      const text = msg.toString();
      const space = text.indexOf(' ');
      if (text.slice(space + 1) !== token) return;
      finish('open', { answeredBy: text.slice(0, space) });
    });
    socket.bind({ address: p.from, port: p.sport }, () => {
      socket.connect(p.port, p.to, () => socket.send(token));
    });
  });
}

/** Run `probes` with at most `concurrency` in flight; results in input order. */
async function runProbes(
  probes: readonly ProbeSpec[],
  timeoutMs: number,
  concurrency: number,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array<ProbeResult>(probes.length);
  let next = 0;
  const work = async (): Promise<void> => {
    for (let i = next++; i < probes.length; i = next++) {
      const p = probes[i]!;
      results[i] =
        p.protocol === 'UDP' ? await probeUdp(p, timeoutMs) : await probeTcp(p, timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, work));
  return results;
}

async function handle(request: AgentRequest): Promise<AgentResponse> {
  switch (request.op) {
    case 'listen':
      for (const port of request.ports) await listen(port);
      return { id: request.id, ok: true };
    case 'probe':
      return {
        id: request.id,
        ok: true,
        results: await runProbes(request.probes, request.timeoutMs, request.concurrency),
      };
  }
}

function reply(
  obj: AgentResponse | { readonly event: string; readonly [k: string]: unknown },
): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

try {
  for (const arg of process.argv.slice(3)) await listen(Number(arg));
} catch (err) {
  reply({ event: 'failed', error: String(err) });
  process.exit(1);
}
reply({ event: 'ready', pid: process.pid });

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const request = JSON.parse(line) as AgentRequest;
  handle(request).then(reply, (err: unknown) =>
    reply({ id: request.id, ok: false, error: String(err) }),
  );
});
lines.on('close', () => process.exit(0));
