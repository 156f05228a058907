/**
 * The test side of agent.ts: starts the agent in a network namespace, waits
 * for its "ready" line (an event, never a sleep), and sends it requests over
 * stdin, matching JSON answers on stdout by id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import type { AgentRequest, AgentResponse, ProbeResult, ProbeSpec } from './agent.js';
import { registerCleanup } from './lifecycle.js';

const AGENT_PATH = fileURLToPath(new URL('./agent.ts', import.meta.url));
const TSX_URL = import.meta.resolve('tsx');
/** A deadline for start-up, so a broken agent fails the test instead of hanging it. */
const READY_DEADLINE_MS = 20_000;

type Pending = { resolve: (r: AgentResponse) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A running agent in one network namespace. */
export class Agent {
  readonly netns: string;
  readonly name: string;
  /** The agent's process id (the `ip netns exec` process execs node). */
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  private exited = false;
  private readonly unregister: () => void;

  private constructor(netns: string, name: string, child: ChildProcess) {
    this.netns = netns;
    this.name = name;
    this.child = child;
    const pid = child.pid;
    this.pid = pid ?? -1;
    this.unregister = registerCleanup(() => {
      if (pid !== undefined && !this.exited) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }

  /**
   * Start an agent named `name` in `netns`, listening on `ports` (TCP and UDP).
   * Resolves once it printed ready.
   * @throws Error with the agent's stderr when it fails or exits first.
   */
  static start(netns: string, name: string, ports: readonly number[]): Promise<Agent> {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        '--import',
        TSX_URL,
        AGENT_PATH,
        name,
        ...ports.map(String),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const agent = new Agent(netns, name, child);
    return agent.awaitReady();
  }

  private awaitReady(): Promise<Agent> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(deadline);
        reject(new Error(`agent ${this.name} in ${this.netns} ${why}\n${this.stderr}`));
      };
      const deadline = setTimeout(() => fail('did not become ready'), READY_DEADLINE_MS);
      this.child.stderr?.on('data', (d: Buffer) => {
        this.stderr += d.toString();
      });
      this.child.once('error', (err) => fail(`could not start: ${String(err)}`));
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        this.unregister();
        fail(`exited (${code ?? signal})`);
        const err = new Error(`agent ${this.name} exited (${code ?? signal})\n${this.stderr}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      const lines = readline.createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as AgentResponse | { event: string; error?: string };
        if ('event' in msg) {
          if (msg.event === 'ready') {
            clearTimeout(deadline);
            resolve(this);
          } else fail(`failed: ${msg.error ?? msg.event}`);
          return;
        }
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) return;
        if (msg.ok) p.resolve(msg);
        else p.reject(new Error(`agent ${this.name}: ${msg.error}`));
      });
    });
  }

  private request(req: DistributiveOmit<AgentRequest, 'id'>): Promise<AgentResponse> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new Error(`agent ${this.name} is not running\n${this.stderr}`));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Also listen on `ports` (TCP and UDP); idempotent. */
  async listen(ports: readonly number[]): Promise<void> {
    if (ports.length > 0) await this.request({ op: 'listen', ports });
  }

  /** Run `probes` from this agent's namespace; results in the same order. */
  async probe(
    probes: readonly ProbeSpec[],
    timeoutMs: number,
    concurrency: number,
  ): Promise<readonly ProbeResult[]> {
    if (probes.length === 0) return [];
    const res = await this.request({ op: 'probe', probes, timeoutMs, concurrency });
    if (!res.ok || !res.results) throw new Error(`agent ${this.name}: no probe results`);
    return res.results;
  }

  /** Stop the agent (stdin closes, then SIGTERM); resolves when it has exited. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    this.child.kill('SIGTERM');
    await exited;
  }
}
