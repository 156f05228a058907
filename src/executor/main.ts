/**
 * The nftpol-executor binary, one per node: options → `startExecutor`
 * (start.ts: the wiring of the host probe, the watch of the node's own
 * NodeFirewall and its reconciler) → wait for SIGTERM; or `--uninstall`.
 * The one place errors become an exit code. Re-exports `startExecutor` and
 * its types, so tests run executors in-process from here.
 *
 * Fail-static: stopping (SIGTERM) leaves the ruleset in force unless
 * `--cleanup-on-exit`; `--uninstall` deletes `table inet nftpol` and nothing
 * else, then exits.
 */
import type { KubeConfig } from '../k8s/client.js';
import { pathToFileURL } from 'node:url';
import { chooseKubeConfigSource, loadKubeConfig } from '../k8s/client.js';
import { errorText } from '../k8s/errors.js';
import { usageText } from '../options/flags.js';
import { createLogger } from '../telemetry/log.js';
import { nftNodeTable } from './node-table.js';
import { DEFAULTS, FLAGS, nftArgv, parseOptions, validate } from './options.js';
import { startExecutor } from './start.js';

export type { ExecutorEvent } from './events.js';
export { startExecutor, type ExecutorDeps, type ExecutorHandle } from './start.js';

/** Runs the binary: parse, validate, start (or uninstall), wait for SIGTERM. @returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseOptions(argv, env);
  if (parsed.help) {
    process.stdout.write(usageText('nftpol-executor', FLAGS, DEFAULTS, 'docs/executor.md'));
    return 0;
  }
  const problems = [...parsed.problems, ...validate(parsed.options)];
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`nftpol-executor: ${p}\n`);
    return 2;
  }
  const options = parsed.options;
  const log = createLogger({ component: 'nftpol-executor', level: options.logLevel });
  log.info({ options }, 'started with options');
  if (options.uninstall) {
    try {
      const table = nftNodeTable({ command: nftArgv(options), timeoutMs: options.nftTimeoutMs });
      const deleted = await table.remove();
      log.info(
        { deleted },
        deleted ? 'removed table inet nftpol' : 'table inet nftpol was not there',
      );
      return 0;
    } catch (err) {
      log.fatal({ err: errorText(err) }, 'failed to remove table inet nftpol');
      return 1;
    }
  }
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(
      chooseKubeConfigSource(
        {
          ...(options.server === '' ? {} : { server: options.server }),
          ...(options.kubeconfig === '' ? {} : { kubeconfig: options.kubeconfig }),
        },
        { KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'] },
      ),
    );
  } catch (err) {
    log.fatal({ err: errorText(err) }, 'failed to load kubeconfig');
    return 1;
  }
  const executor = await startExecutor(options, kubeConfig, { log });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await executor.stop();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nftpol-executor: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
