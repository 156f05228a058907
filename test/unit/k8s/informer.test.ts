/**
 * startInformer survives what its callers do wrong: a handler or `strip`
 * that throws on one object skips that object (reported through
 * onHandlerError), in the initial list and in the watch alike; the other
 * objects are delivered, the informer syncs and keeps watching, and no
 * promise rejection is left unhandled (which would exit the controller).
 * Driven by the real client-node against the embedded API server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../support/apiserver/server.js';
import { kubeConfigForServer } from '../../../src/k8s/client.js';
import { startInformer, type RunningInformer } from '../../../src/k8s/informer.js';

const nameOf = (obj: unknown): string =>
  (obj as KubernetesObject | undefined)?.metadata?.name ?? '?';

describe('startInformer with handlers that throw', () => {
  let server: ApiServer;
  let core: CoreV1Api;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startApiServer();
    core = kubeConfigForServer(server.url).makeApiClient(CoreV1Api);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.close();
  });

  const pod = (name: string): Promise<unknown> =>
    core.createNamespacedPod({
      namespace: 'a',
      body: {
        metadata: { name, namespace: 'a' },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      },
    });

  it(
    'skips and reports the objects whose handling throws, and goes on',
    { timeout: 20_000 },
    async () => {
      for (const name of ['p1', 'bad-handler', 'bad-strip', 'p2']) await pod(name);
      const seen: string[] = [];
      const failures: string[] = [];
      let arrived: (name: string) => void = () => undefined;
      const informer: RunningInformer = startInformer(
        kubeConfigForServer(server.url),
        {
          path: '/api/v1/pods',
          list: () => core.listPodForAllNamespaces(),
          strip: (obj) => {
            if (nameOf(obj).startsWith('bad-strip')) throw new Error('strip broke');
            return obj as KubernetesObject;
          },
        },
        {
          onUpsert: (obj) => {
            if (nameOf(obj).startsWith('bad-handler')) throw new Error('handler broke');
            seen.push(nameOf(obj));
            arrived(nameOf(obj));
          },
          onDelete: () => undefined,
        },
        {
          onHandlerError: (err, obj) => failures.push(`${nameOf(obj)}: ${(err as Error).message}`),
        },
      );
      try {
        await informer.synced;
        assert.deepEqual(seen.sort(), ['p1', 'p2'], 'the list delivered the others');
        assert.deepEqual(failures.sort(), ['bad-handler: handler broke', 'bad-strip: strip broke']);

        // The watch goes on past objects whose handling throws.
        const p3 = new Promise<void>((resolve) => {
          arrived = (name) => {
            if (name === 'p3') resolve();
          };
        });
        for (const name of ['bad-handler-2', 'bad-strip-2', 'p3']) await pod(name);
        await p3;
        assert.deepEqual(seen.sort(), ['p1', 'p2', 'p3']);
        assert.deepEqual(failures.slice(2).sort(), [
          'bad-handler-2: handler broke',
          'bad-strip-2: strip broke',
        ]);
        assert.deepEqual(unhandled, []);
      } finally {
        await informer.stop();
      }
    },
  );
});
