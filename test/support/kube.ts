// A real kube-apiserver backed by a real etcd, on loopback, for tests. The
// binaries are built from source through the Go module proxy by
// scripts/kube-build.sh (cached in ~/.cache/meshplane/kube). No controllers
// run: no namespace finalization, no EndpointSlice controller, no pods.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { REPO_ROOT } from './envoy.js';
import { freePort, waitFor } from './net.js';

export const K8S_VERSION = '1.37.2';
export const ETCD_VERSION = '3.7.3';

let binDir: string | undefined;
/** Where the binaries are; builds what is missing (minutes, once per machine). */
export function kubeBinDir(): string {
  binDir ??= execFileSync(join(REPO_ROOT, 'scripts/kube-build.sh'), ['etcd', 'kube-apiserver', 'kubectl'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, K8S_VERSION, ETCD_VERSION },
  }).trim();
  return binDir;
}
export const kubectlBin = (): string => join(kubeBinDir(), `kubectl-v${K8S_VERSION}`);

export interface KubeApi {
  /** https://127.0.0.1:PORT */
  server: string;
  port: number;
  /** A kubeconfig with context "admin" (client certificate, system:masters). */
  kubeconfig: string;
  dir: string;
  ca: string;
  /** kubectl against this server; throws with kubectl's stderr on failure. */
  kubectl(args: string[], input?: string): string;
  /** The HTTP status a watch request gets (without waiting for its stream). */
  watchStatus(path: string): Promise<number>;
  /** Raw JSON request as admin. */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  /** Writes a kubeconfig for a bearer token (e.g. a ServiceAccount's); self-contained (CA inline) with embed. */
  tokenKubeconfig(token: string, name: string, embed?: boolean): string;
  /** SIGKILLs the API server (etcd keeps running). */
  killApiServer(): Promise<void>;
  /** Starts the API server again on the same port and data. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

function ossl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function makePki(dir: string): void {
  ossl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=meshplane-test-kube-ca', '-days', '7');
  const issue = (name: string, subject: string, ext: string) => {
    ossl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '7', '-extfile', `${name}.ext`);
  };
  issue('apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n');
  issue('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  ossl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa-key.pem');
  ossl(dir, 'ec', '-in', 'sa-key.pem', '-pubout', '-out', 'sa.pem');
}

function kubeconfigYaml(server: string, dir: string, user: Record<string, string>, name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority': join(dir, 'ca.pem') } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

function spawnLogged(bin: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  return spawn(bin, args, { stdio: ['ignore', fd, fd] });
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts etcd and kube-apiserver on free loopback ports, in a fresh data directory. */
export async function startKubeApi(name = 'kube'): Promise<KubeApi> {
  const bin = kubeBinDir();
  const dir = mkdtempSync(join(tmpdir(), `meshplane-${name}-`));
  makePki(dir);
  const token = randomBytes(16).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin-token,admin-token-uid,"system:masters"\n`);
  const [etcdPort, peerPort, port] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${port}`;
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = spawnLogged(join(bin, `etcd-v${ETCD_VERSION}`), [
    '--name', 'test', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync', '--log-level', 'warn',
  ], join(dir, 'etcd.log'));
  await waitFor('etcd /health', async () => ((await fetch(`${etcdUrl}/health`).catch(() => undefined))?.ok ? true : undefined), 30_000);

  const apiArgs = [
    `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
    `--tls-cert-file=${join(dir, 'apiserver.pem')}`, `--tls-private-key-file=${join(dir, 'apiserver-key.pem')}`,
    `--client-ca-file=${join(dir, 'ca.pem')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`,
    `--service-account-key-file=${join(dir, 'sa.pem')}`, `--service-account-signing-key-file=${join(dir, 'sa-key.pem')}`,
    '--service-account-issuer=https://kubernetes.default.svc', '--api-audiences=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.96.0.0/16', '--authorization-mode=RBAC', '--disable-admission-plugins=ServiceAccount',
    '--endpoint-reconciler-type=none', '--profiling=false', '--v=0',
  ];
  let apiserver: ChildProcess | undefined;
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const agent = new Agent({ ca, cert: readFileSync(join(dir, 'admin.pem')), key: readFileSync(join(dir, 'admin-key.pem')), keepAlive: true });
  const api: KubeApi['api'] = (method, path, body, contentType = 'application/json') =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(`${server}${path}`, { method, agent, headers: { accept: 'application/json', ...(data ? { 'content-type': contentType } : {}) }, timeout: 15_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  const watchStatus = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${server}${path}${path.includes('?') ? '&' : '?'}watch=true`, { agent, timeout: 10_000 }, (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('timeout', () => req.destroy(new Error(`watch ${path} timed out`)));
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
  const startApiServer = async () => {
    apiserver = spawnLogged(join(bin, `kube-apiserver-v${K8S_VERSION}`), apiArgs, join(dir, 'apiserver.log'));
    const child = apiserver;
    await waitFor('kube-apiserver /readyz', async () => {
      if (child.exitCode !== null) throw new Error(`kube-apiserver exited with ${child.exitCode}; see ${join(dir, 'apiserver.log')}:\n${readFileSync(join(dir, 'apiserver.log'), 'utf8').slice(-3000)}`);
      const r = await api('GET', '/readyz').catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    }, 90_000, 200);
  };
  try {
    await startApiServer();
  } catch (err) {
    await stopChild(apiserver);
    await stopChild(etcd);
    throw err;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, dir, { 'client-certificate': join(dir, 'admin.pem'), 'client-key': join(dir, 'admin-key.pem') }, 'admin'));
  return {
    server,
    port,
    kubeconfig,
    dir,
    ca,
    kubectl(args, input) {
      try {
        // Its own discovery cache: ~/.kube/cache is keyed by host:port, which another test's server may have had.
        return execFileSync(kubectlBin(), ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl-cache'), ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
      }
    },
    api,
    watchStatus,
    tokenKubeconfig(tok, ctx, embed = false) {
      const file = join(dir, `kubeconfig-${ctx}`);
      const cfg = JSON.parse(kubeconfigYaml(server, dir, { token: tok }, ctx));
      if (embed) cfg.clusters[0].cluster = { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') };
      writeFileSync(file, JSON.stringify(cfg));
      return file;
    },
    killApiServer: () => stopChild(apiserver, 'SIGKILL'),
    startApiServer,
    async stop() {
      agent.destroy();
      await stopChild(apiserver);
      await stopChild(etcd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A namespace per test: deleted namespaces stay Terminating for ever here (no controllers). */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Applies the CRDs in deploy/crds and waits until a watch on each works (fresh CRDs answer 429 for a moment). */
export async function installCrds(kube: KubeApi): Promise<void> {
  kube.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'deploy/crds')]);
  const list = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?labelSelector=app.kubernetes.io%2Fpart-of%3Dmeshplane';
  type CrdItem = { spec: { group: string; versions: Array<{ name: string }>; names: { plural: string } }; status?: { conditions?: Array<{ type: string; status: string }> } };
  const crds = await waitFor('the CRDs to be Established', async () => {
    const items = (await kube.api('GET', list)).body.items as CrdItem[];
    return items.length && items.every((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) ? items : undefined;
  }, 60_000, 100);
  await Promise.all(
    crds.map((c) => {
      const path = `/apis/${c.spec.group}/${c.spec.versions[0].name}/${c.spec.names.plural}`;
      return waitFor(`a watch on ${c.spec.names.plural}`, async () => ((await kube.watchStatus(path)) === 200 ? true : undefined), 30_000, 200);
    }),
  );
}

export const ensureDir = (d: string): string => {
  if (!existsSync(d)) mkdirSync(d, { recursive: true });
  return d;
};
