/**
 * Names and cleanup for the dataplane tier's network namespaces. Every
 * namespace of a run is named `np<runid>-<role>` (≤ 15 characters); the run id
 * encodes the start time, so a later run can tell a crashed run's leftovers
 * from a run still going (which holds a pid file). Everything a run creates is
 * registered here and removed by the `after()` hooks, and also on SIGINT,
 * SIGTERM and process exit when a test fails or is interrupted.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hasTool, runCommandQuietly } from './command.js';

/** Where `ip netns add` keeps its namespaces. */
const NETNS_DIR = '/run/netns';
/** Pid files of running dataplane runs, so that stale cleanup spares them. */
const RUN_DIR = '/run/nftpol-dataplane';
const NAME_PATTERN = /^np([0-9a-z]{6})([0-9a-z]{2})-([a-z][0-9a-z]{0,4})$/;

const startSeconds = Math.floor(Date.now() / 1000);

/**
 * This run's id: 6 base-36 digits of the start time in seconds, then two of the
 * pid, so that two runs started in the same second differ (1295 times in 1296).
 */
export const RUN_ID = `${startSeconds.toString(36).padStart(6, '0')}${(process.pid % 1296).toString(36).padStart(2, '0')}`;

/** The namespace name for `role` (`u`, `n1`, `p12`): `np<runid>-<role>`, at most 15 characters. */
export function netnsName(role: string): string {
  const name = `np${RUN_ID}-${role}`;
  if (!NAME_PATTERN.test(name) || name.length > 15) throw new Error(`bad netns role "${role}"`);
  return name;
}

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();
let handlersInstalled = false;

/** Run every registered cleanup, synchronously, newest first. */
export function runAllCleanups(): void {
  for (const c of [...cleanups].reverse()) {
    cleanups.delete(c);
    c();
  }
  rmSync(`${RUN_DIR}/${RUN_ID}`, { force: true });
}

/**
 * Register a synchronous cleanup (kill a process by pid, delete a netns) to run
 * on SIGINT, SIGTERM or exit if the test's own teardown did not run. Returns a
 * function that unregisters it (call it after cleaning up normally).
 */
export function registerCleanup(cleanup: Cleanup): () => void {
  installHandlers();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  mkdirSync(RUN_DIR, { recursive: true });
  writeFileSync(`${RUN_DIR}/${RUN_ID}`, `${process.pid}\n`);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      runAllCleanups();
      process.exit(code);
    });
  }
  process.once('exit', runAllCleanups);
}

/** Delete a network namespace now (synchronously); false when it did not exist. */
export function deleteNetnsQuietly(name: string): boolean {
  return runCommandQuietly(['ip', 'netns', 'delete', name]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Delete the namespaces that earlier runs of this tier left behind: named like
 * ours, started before this run, and whose run holds no live pid file. Their
 * agents exit on their own once their parent is gone (stdin closes).
 * Returns the names deleted.
 */
export function removeStaleNamespaces(): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME_PATTERN.exec(name);
    if (!m) continue;
    const runId = `${m[1]}${m[2]}`;
    if (runId === RUN_ID || parseInt(m[1]!, 36) > startSeconds) continue;
    if (isRunAlive(runId)) continue;
    if (deleteNetnsQuietly(name)) removed.push(name);
  }
  return removed;
}

function isRunAlive(runId: string): boolean {
  try {
    const pid = Number(readFileSync(`${RUN_DIR}/${runId}`, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return true;
    rmSync(`${RUN_DIR}/${runId}`, { force: true });
    return false;
  } catch {
    return false;
  }
}

/**
 * Why this machine cannot run the dataplane tier, or null when it can:
 * it needs root (network namespaces, nft) and the `ip` and `nft` tools.
 */
export function dataplaneSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'the dataplane tier needs root (network namespaces and nft)';
  if (!hasTool('ip', '-V')) return 'the dataplane tier needs iproute2 (`ip` not found)';
  if (!hasTool('nft', '--version')) return 'the dataplane tier needs nftables (`nft` not found)';
  return null;
}
