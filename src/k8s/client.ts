/**
 * Where the API server is and how to talk to it, decided in one place for the
 * controller, the executor and the CLI.
 *
 * Precedence (what kubectl users expect): an explicit server URL (tests and
 * `make demo`), then `--kubeconfig`, then `$KUBECONFIG`, then in-cluster
 * service-account credentials, then `~/.kube/config`. The decision is a pure
 * function ({@link chooseKubeConfigSource}) so it is testable without files.
 *
 * Note: client-node 2.x refuses a plain `http:` server unless the cluster has
 * `skipTLSVerify: true`; {@link kubeConfigForServer} sets it.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';

/** The kubeconfig type, for code outside k8s/ (which may not import client-node). */
export type { KubeConfig } from '@kubernetes/client-node';

/** Where the kubeconfig comes from; see the file header for precedence. */
export type KubeConfigSource =
  | { readonly kind: 'server'; readonly url: string; readonly token: string }
  | { readonly kind: 'file'; readonly path: string; readonly context?: string }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'default' };

/** Inputs to {@link chooseKubeConfigSource}. */
export interface KubeConfigFlags {
  /** `--server`: an API server URL (plain http allowed); no credentials needed. */
  readonly server?: string;
  /** Bearer token sent to `server`. @default 'nftpol' */
  readonly token?: string;
  /** `--kubeconfig` path. */
  readonly kubeconfig?: string;
  /** `--context` within the kubeconfig file. */
  readonly context?: string;
}

/** The environment variables that matter here. */
export interface KubeConfigEnv {
  readonly KUBECONFIG?: string | undefined;
  readonly KUBERNETES_SERVICE_HOST?: string | undefined;
}

/**
 * Decides where to load the configuration from. Pure.
 *
 * In-cluster is chosen when `KUBERNETES_SERVICE_HOST` is set (the kubelet sets
 * it in every pod) and no file was named.
 */
export function chooseKubeConfigSource(
  flags: KubeConfigFlags,
  env: KubeConfigEnv,
): KubeConfigSource {
  if (flags.server !== undefined && flags.server !== '') {
    return { kind: 'server', url: flags.server, token: flags.token ?? 'nftpol' };
  }
  const path = flags.kubeconfig ?? env.KUBECONFIG;
  if (path !== undefined && path !== '') {
    return flags.context === undefined
      ? { kind: 'file', path }
      : { kind: 'file', path, context: flags.context };
  }
  if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') {
    return { kind: 'in-cluster' };
  }
  return { kind: 'default' };
}

/**
 * Builds the KubeConfig for `source`.
 *
 * @throws Error from client-node when a file cannot be read or parsed.
 */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  switch (source.kind) {
    case 'server':
      return kubeConfigForServer(source.url, source.token);
    case 'file': {
      const kc = new KubeConfig();
      kc.loadFromFile(source.path);
      if (source.context !== undefined) kc.setCurrentContext(source.context);
      return kc;
    }
    case 'in-cluster': {
      const kc = new KubeConfig();
      kc.loadFromCluster();
      return kc;
    }
    case 'default': {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kc;
    }
  }
}

/**
 * A KubeConfig pointing at `url` with a bearer token and TLS verification off
 * (required by client-node for `http:` URLs; used by tests and the demo's
 * embedded API server).
 *
 * @param token sent as `Authorization: Bearer <token>`. @default 'nftpol-test'
 */
export function kubeConfigForServer(url: string, token = 'nftpol-test'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'nftpol', server: url, skipTLSVerify: true }],
    users: [{ name: 'nftpol', token }],
    contexts: [{ name: 'nftpol', cluster: 'nftpol', user: 'nftpol' }],
    currentContext: 'nftpol',
  });
  return kc;
}

/** The typed API handles nftpol uses. */
export interface ApiClients {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly coordination: CoordinationV1Api;
  readonly custom: CustomObjectsApi;
}

/** Creates every API handle from one KubeConfig. */
export function makeApiClients(kubeConfig: KubeConfig): ApiClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    networking: kubeConfig.makeApiClient(NetworkingV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
  };
}
