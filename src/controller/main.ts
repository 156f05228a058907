/**
 * nftpol-controller, the binary: parse and validate the options (every
 * problem at once, exit 2), load the kubeconfig, start the controller
 * (start.ts), and stop it on SIGTERM, releasing the Lease. The one place
 * errors become an exit code.
 */
import { pathToFileURL } from 'node:url';
import { chooseKubeConfigSource, loadKubeConfig, type KubeConfig } from '../k8s/client.js';
import { errorText } from '../k8s/errors.js';
import { usageText } from '../options/flags.js';
import { createLogger } from '../telemetry/log.js';
import { DEFAULTS, FLAGS, parseOptions, redactedOptions, validate } from './options.js';
import { startController } from './start.js';

export { startController, type ControllerDeps, type ControllerHandle } from './start.js';

/** Runs the binary: parse, validate, start, wait for SIGTERM. @returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseOptions(argv, env);
  if (parsed.help) {
    process.stdout.write(usageText('nftpol-controller', FLAGS, DEFAULTS, 'docs/controller.md'));
    return 0;
  }
  const problems = [...parsed.problems, ...validate(parsed.options)];
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`nftpol-controller: ${p}\n`);
    return 2;
  }
  const options = parsed.options;
  const log = createLogger({ component: 'nftpol-controller', level: options.logLevel });
  log.info({ options: redactedOptions(options) }, 'started with options');
  // A last resort, not the error handling: every timer and callback path
  // catches its own errors, so reaching this is a bug. Log it loudly and keep
  // enforcing rather than exit (Node's default), which would only hand the
  // same cluster to the next leader.
  process.on('unhandledRejection', (reason) => {
    log.error(
      { err: errorText(reason), stack: reason instanceof Error ? reason.stack : undefined },
      'BUG: unhandled promise rejection; the controller keeps running',
    );
  });
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(
      chooseKubeConfigSource(options.kubeconfig === '' ? {} : { kubeconfig: options.kubeconfig }, {
        KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'],
      }),
    );
  } catch (err) {
    log.fatal({ err: errorText(err) }, 'failed to load kubeconfig');
    return 1;
  }
  const controller = await startController(options, kubeConfig, { log });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await controller.stop({ release: true });
  log.info('stopped');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nftpol-controller: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
