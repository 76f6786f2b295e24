// Starts a real Envoy for a test: a container (testcontainers, the image tag
// users pull, built locally by scripts/build-envoy-image.sh) when a Docker
// engine is reachable, else a child process of the pinned binary. In CI the
// mode is fixed to docker and any failure to start fails the test.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, waitFor } from './net.js';

export const REPO_ROOT = join(import.meta.dirname, '../..');
const VERSION = /ENVOY_VERSION=([\d.]+)/.exec(readFileSync(join(REPO_ROOT, 'scripts/envoy-version.sh'), 'utf8'))![1];
export const ENVOY_IMAGE = `envoyproxy/envoy:v${VERSION}`;

export interface EnvoyOptions {
  xdsPort: number;
  gateway: string; // ns/name of the VirtualGateway
  nodeId?: string;
  /** Incremental xDS (DELTA_GRPC) instead of state of the world. */
  delta?: boolean;
  /** mTLS to meshplane: PEM contents of the client certificate, its key, and the CA of meshplane's server certificate. */
  tls?: { cert: string; key: string; ca: string };
}

const CERT_DIR = '/etc/envoy/certs';

export interface EnvoyHandle {
  mode: 'docker' | 'process';
  adminPort: number;
  logs(): Promise<string>;
  configDump(): Promise<unknown>;
  stats(filter: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** The bundled gateway bootstrap with this test's ports and identity. */
export function bootstrapYaml(opts: EnvoyOptions, adminPort: number, certDir = CERT_DIR): string {
  const b = parse(readFileSync(join(REPO_ROOT, 'envoy-configs/gateway.yaml'), 'utf8'));
  b.node.id = opts.nodeId ?? `test-${opts.gateway.replace('/', '-')}`;
  b.node.cluster = opts.gateway;
  b.node.metadata = { gateway: opts.gateway };
  b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = opts.xdsPort;
  b.admin.address.socket_address.port_value = adminPort;
  if (opts.delta) b.dynamic_resources.ads_config.api_type = 'DELTA_GRPC';
  if (opts.tls) {
    b.static_resources.clusters[0].transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: 'meshplane',
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: `${certDir}/client.pem` }, private_key: { filename: `${certDir}/client-key.pem` } }],
          validation_context: { trusted_ca: { filename: `${certDir}/ca.pem` } },
        },
      },
    };
  }
  return stringify(b);
}

export function envoyMode(): 'docker' | 'process' {
  const m = process.env.MESHPLANE_ENVOY_MODE;
  if (m === 'docker' || m === 'process') return m;
  if (process.env.CI === 'true') return 'docker';
  return process.env.DOCKER_HOST ? 'docker' : 'process';
}

export async function startEnvoy(opts: EnvoyOptions): Promise<EnvoyHandle> {
  const adminPort = await freePort();
  const files: Record<string, string> = opts.tls ? { 'client.pem': opts.tls.cert, 'client-key.pem': opts.tls.key, 'ca.pem': opts.tls.ca } : {};
  let handle: EnvoyHandle;
  if (envoyMode() === 'docker') {
    handle = await startContainer(bootstrapYaml(opts, adminPort), adminPort, files);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'envoy-certs-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    handle = await startProcess(bootstrapYaml(opts, adminPort, dir), adminPort);
  }
  await waitFor('Envoy admin /ready', async () => {
    const r = await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined);
    return r?.ok ? true : undefined;
  }, 30_000).catch(async (err) => {
    const logs = await handle.logs();
    await handle.stop();
    const important = logs.split('\n').filter((l) => /\]\[(warning|error|critical)\]/.test(l)).join('\n');
    throw new Error(`${(err as Error).message}\nEnvoy (${handle.mode}) warnings and errors:\n${(important || logs).slice(-4000)}`);
  });
  return handle;
}

function common(adminPort: number) {
  return {
    adminPort,
    async configDump() {
      const r = await fetch(`http://127.0.0.1:${adminPort}/config_dump`);
      return r.json();
    },
    /** Envoy's counters and gauges whose name matches `filter` (a regex), as name -> value. */
    async stats(filter: string): Promise<Record<string, number>> {
      const r = await fetch(`http://127.0.0.1:${adminPort}/stats?format=json&filter=${encodeURIComponent(filter)}`);
      const body = (await r.json()) as { stats: Array<{ name?: string; value?: number }> };
      return Object.fromEntries(body.stats.filter((s) => s.name !== undefined).map((s) => [s.name!, s.value ?? 0]));
    },
  };
}

async function startContainer(yaml: string, adminPort: number, files: Record<string, string>): Promise<EnvoyHandle> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(ENVOY_IMAGE)
    .withNetworkMode('host')
    .withCopyContentToContainer([{ content: yaml, target: '/etc/envoy/envoy.yaml' }, ...Object.entries(files).map(([name, content]) => ({ content, target: `${CERT_DIR}/${name}` }))])
    .withCommand(['-c', '/etc/envoy/envoy.yaml', '--disable-hot-restart', '--log-level', 'info', '--drain-time-s', '1'])
    .withWaitStrategy(Wait.forLogMessage(/starting main dispatch loop/))
    .withStartupTimeout(60_000)
    .start();
  const logs = async () => {
    const chunks: string[] = [];
    const stream = await container.logs();
    await new Promise<void>((resolve) => {
      stream.on('data', (c: Buffer | string) => chunks.push(c.toString()));
      stream.on('end', () => resolve());
      setTimeout(resolve, 500);
    });
    return chunks.join('');
  };
  return { mode: 'docker', ...common(adminPort), logs, stop: async () => void (await container.stop({ timeout: 2_000 })) };
}

function envoyBinary(): string {
  if (process.env.ENVOY_BIN && existsSync(process.env.ENVOY_BIN)) return process.env.ENVOY_BIN;
  return execFileSync(join(REPO_ROOT, 'scripts/install-envoy.sh'), { encoding: 'utf8' }).trim();
}

async function startProcess(yaml: string, adminPort: number): Promise<EnvoyHandle> {
  const child: ChildProcess = spawn(envoyBinary(), ['--config-yaml', yaml, '--disable-hot-restart', '--log-level', 'info', '--drain-time-s', '1', ...(process.env.ENVOY_COMPONENT_LOG ? ['--component-log-level', process.env.ENVOY_COMPONENT_LOG] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    mode: 'process',
    ...common(adminPort),
    logs: async () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
    },
  };
}
