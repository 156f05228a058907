/**
 * The real Kubernetes control plane for tests, the way controller-runtime's
 * envtest runs it: etcd and kube-apiserver (and, when a test needs the
 * garbage collector, kube-controller-manager) started as child processes on
 * free loopback ports, with certificates made by openssl, real RBAC and
 * admission, and an audit log so that tests can count the writes that
 * reached the server. Everything lives in one temporary directory that
 * {@link RealControlPlane.stop} removes.
 *
 * The binaries come from `KUBEBUILDER_ASSETS` (envtest's convention: a
 * directory holding `kube-apiserver` and `etcd`); `make deps` fills the
 * Makefile's default from ../shared/k8s. Without them, {@link controlPlaneAssets}
 * says why, and the suites skip with that one line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** Where the control-plane binaries are, or why there are none. */
export type ControlPlaneAssets =
  | { readonly kind: 'found'; readonly dir: string }
  | { readonly kind: 'missing'; readonly why: string };

/** How long the API server may take to answer /readyz from cold (2 cores: 5–15 s seen). */
const READY_TIMEOUT_MS = 90_000;

/** The asset directory named by KUBEBUILDER_ASSETS, when it holds what we need. */
export function controlPlaneAssets(env: NodeJS.ProcessEnv = process.env): ControlPlaneAssets {
  const dir = env['KUBEBUILDER_ASSETS'];
  if (dir === undefined || dir === '')
    return { kind: 'missing', why: 'KUBEBUILDER_ASSETS is unset (run through make)' };
  for (const bin of ['kube-apiserver', 'etcd'])
    if (!existsSync(join(dir, bin)))
      return { kind: 'missing', why: `KUBEBUILDER_ASSETS=${dir} has no ${bin}` };
  return { kind: 'found', dir };
}

/** Options of {@link startRealControlPlane}. */
export interface RealControlPlaneOptions {
  /**
   * Also run kube-controller-manager: the garbage collector (owner
   * references), default ServiceAccounts, and the type checking of
   * ValidatingAdmissionPolicies. @default false
   */
  readonly controllerManager?: boolean;
  /** Extra kube-apiserver flags. */
  readonly apiServerFlags?: readonly string[];
}

/** A running etcd + kube-apiserver (+ controller-manager). */
export interface RealControlPlane {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** The server's version, e.g. `v1.32.13`. */
  readonly version: string;
  /** A kubeconfig file for a cluster administrator (client certificate in system:masters). */
  readonly kubeconfigPath: string;
  /** The CA that signed the serving certificate (PEM). */
  readonly caPem: string;
  /**
   * A kubeconfig file for an ordinary user authenticated by a client
   * certificate with common name `user` (no groups): RBAC decides.
   */
  userKubeconfig(user: string): string;
  /** A kubeconfig file that authenticates with a bearer token. */
  tokenKubeconfig(token: string): string;
  /** The audit log's events so far (one per request that reached ResponseComplete). */
  auditEvents(): AuditEvent[];
  /** Stops every process and removes the directory. */
  stop(): Promise<void>;
}

/** The fields of an audit.k8s.io/v1 Event that tests read. */
export interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string };
  readonly responseStatus?: { readonly code?: number };
  readonly objectRef?: {
    readonly resource?: string;
    readonly subresource?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly apiGroup?: string;
  };
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, serving certificate, admin client certificate and the service-account key pair. */
function makeCertificates(dir: string): void {
  openssl(dir, ['genrsa', '-out', 'ca.key', '2048']);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-key',
    'ca.key',
    '-subj',
    '/CN=nftpol-test-ca',
    '-days',
    '2',
    '-out',
    'ca.crt',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  signed(dir, 'server', '/CN=kube-apiserver', 'server.ext');
  signed(dir, 'admin', '/O=system:masters/CN=admin');
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

/** A key and a certificate for `subject`, signed by the test CA. */
function signed(dir: string, name: string, subject: string, extfile?: string): void {
  openssl(dir, ['genrsa', '-out', `${name}.key`, '2048']);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    ...(extfile === undefined ? [] : ['-extfile', extfile]),
  ]);
}

function b64(path: string): string {
  return readFileSync(path).toString('base64');
}

function kubeconfigYaml(url: string, dir: string, user: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: { server: url, 'certificate-authority-data': b64(join(dir, 'ca.crt')) },
      },
    ],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'user' } }],
    'current-context': 'test',
  });
}

/** Every request at Metadata level, once complete; reads are left out. */
const AUDIT_POLICY = JSON.stringify({
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived', 'ResponseStarted'],
  rules: [{ level: 'Metadata' }],
});

/** A child process whose output is kept (last 64 KiB) for error messages. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  output(): string;
}

/** Every child still running: killed when the test process exits, whatever happened. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function startChild(name: string, bin: string, args: readonly string[]): Child {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, process: child, output: () => out };
}

async function stopChild(child: Child): Promise<void> {
  const p = child.process;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** GET `path` with the admin certificate; resolves with status and body, or the error. */
function adminGet(
  url: string,
  dir: string,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        ca: readFileSync(join(dir, 'ca.crt')),
        cert: readFileSync(join(dir, 'admin.crt')),
        key: readFileSync(join(dir, 'admin.key')),
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/**
 * Resolves once GET /readyz answers 200; polls the server, since nothing
 * announces readiness (the one loop here that waits on time, not an event).
 * @throws Error with the children's last output when one exits or the deadline passes.
 */
async function waitReady(url: string, dir: string, children: readonly Child[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: string;
  for (;;) {
    const dead = children.find((c) => c.process.exitCode !== null || c.process.signalCode !== null);
    if (dead !== undefined)
      throw new Error(`${dead.name} exited before the API server was ready:\n${dead.output()}`);
    try {
      const { status, body } = await adminGet(url, dir, '/readyz');
      if (status === 200) return;
      last = `${status} ${body}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(
        `kube-apiserver not ready after ${READY_TIMEOUT_MS} ms (last answer: ${last}):\n` +
          children.map((c) => `--- ${c.name}\n${c.output()}`).join('\n'),
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Starts etcd and kube-apiserver from `assets` and waits for /readyz.
 * @throws Error with the processes' output when they do not come up.
 */
export async function startRealControlPlane(
  assets: string,
  options: RealControlPlaneOptions = {},
): Promise<RealControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'nftpol-k8s-'));
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    for (const child of [...children].reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    makeCertificates(dir);
    writeFileSync(join(dir, 'audit-policy.json'), AUDIT_POLICY);
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    children.push(
      startChild('etcd', join(assets, 'etcd'), [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--log-level=error',
      ]),
    );
    const url = `https://127.0.0.1:${apiPort}`;
    children.push(
      startChild('kube-apiserver', join(assets, 'kube-apiserver'), [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${dir}`,
        `--tls-cert-file=${join(dir, 'server.crt')}`,
        `--tls-private-key-file=${join(dir, 'server.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--service-cluster-ip-range=10.96.0.0/24',
        '--authorization-mode=Node,RBAC',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        `--audit-policy-file=${join(dir, 'audit-policy.json')}`,
        `--audit-log-path=${join(dir, 'audit.log')}`,
        '--audit-log-mode=blocking',
        ...(options.apiServerFlags ?? []),
      ]),
    );
    await waitReady(url, dir, children);
    const adminPath = join(dir, 'admin.kubeconfig');
    writeFileSync(
      adminPath,
      kubeconfigYaml(url, dir, {
        'client-certificate-data': b64(join(dir, 'admin.crt')),
        'client-key-data': b64(join(dir, 'admin.key')),
      }),
    );
    const version = (
      JSON.parse((await adminGet(url, dir, '/version')).body) as { gitVersion: string }
    ).gitVersion;
    if (options.controllerManager === true) {
      children.push(
        startChild('kube-controller-manager', join(assets, 'kube-controller-manager'), [
          `--kubeconfig=${adminPath}`,
          '--controllers=garbagecollector,serviceaccount,serviceaccount-token,validatingadmissionpolicy-status-controller',
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${join(dir, 'ca.crt')}`,
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          '--concurrent-gc-syncs=5',
        ]),
      );
    }
    let tokens = 0;
    return {
      url,
      version,
      kubeconfigPath: adminPath,
      caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      userKubeconfig: (user) => {
        signed(dir, `user-${user}`, `/CN=${user}`);
        const path = join(dir, `user-${user}.kubeconfig`);
        writeFileSync(
          path,
          kubeconfigYaml(url, dir, {
            'client-certificate-data': b64(join(dir, `user-${user}.crt`)),
            'client-key-data': b64(join(dir, `user-${user}.key`)),
          }),
        );
        return path;
      },
      tokenKubeconfig: (token) => {
        const path = join(dir, `token-${++tokens}.kubeconfig`);
        writeFileSync(path, kubeconfigYaml(url, dir, { token }));
        return path;
      },
      auditEvents: () => {
        const path = join(dir, 'audit.log');
        if (!existsSync(path)) return [];
        return readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as AuditEvent);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
