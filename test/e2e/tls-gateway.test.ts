// VirtualGateway TLS listeners through a real Envoy (issue 14, item 2):
// certificates from Kubernetes Secrets served over SDS, SIMPLE and MUTUAL,
// minimum protocol version, SNI per host on one port, httpsRedirect, a port
// by name, certificate rotation, and no key material in the debug views.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

const J = JSON.stringify;

/** A throwaway CA and certificates, made with the openssl CLI. */
function pki(dir: string) {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ca = (name: string) => ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2');
  const issue = (name: string, san: string, caName = 'ca') => {
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
    return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}-key.pem`), 'utf8'), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
  };
  ca('ca');
  ca('other-ca');
  return { caFile: join(dir, 'ca.pem'), ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), issue };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const tlsSecret = (name: string, c: { cert: string; key: string }, ca?: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: gateways}\ntype: kubernetes.io/tls\ndata: ${J({ 'tls.crt': b64(c.cert), 'tls.key': b64(c.key), ...(ca ? { 'ca.crt': b64(ca) } : {}) })}\n`;

describe('TLS listeners through a real Envoy', () => {
  let dir: string;
  let certs: string;
  let p: ReturnType<typeof pki>;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let up: Upstream;
  let ports: { simple: number; sni: number; mutual: number; plain: number; named: number; waiting: number };
  let client: ReturnType<ReturnType<typeof pki>['issue']>;
  let stranger: ReturnType<ReturnType<typeof pki>['issue']>;

  /**
   * curl with a CA file; the HTTP status, or curl's exit code as a negative number.
   * Asynchronous: the upstream answers from this process.
   */
  const curl = (host: string, port: number, extra: string[] = []) =>
    new Promise<number>((resolve) => {
      execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '--cacert', p.caFile, '--resolve', `${host}:${port}:127.0.0.1`, ...extra, `https://${host}:${port}/`], (err, stdout) => {
        resolve(err ? -((err as { code?: number }).code ?? 1) : Number(stdout));
      });
    });
  /** The serial number of the certificate the listener presents for an SNI name. */
  const servedSerial = (port: number, servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().serialNumber);
        s.end();
      });
      s.on('error', reject);
    });

  const files = (a: ReturnType<ReturnType<typeof pki>['issue']>, b: ReturnType<ReturnType<typeof pki>['issue']>) => {
    const gw = (name: string, listeners: unknown[], workloads: unknown[] = [{ selector: { labels: { app: `${name}` } } }]) =>
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: ${name}, namespace: gateways}\nspec: ${J({ workloads, listeners })}\n`;
    const table = (name: string, hosts: string[], gateway: string) =>
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: gateways}\nspec: ${J({ hosts, virtualGateways: [{ name: gateway }], http: [{ name: 'all', forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } }] })}\n`;
    return [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: gateways, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: gateways}]}]}\n`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: gateways}\nspec: {ports: [{name: http, port: 80}]}\n`,
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: app-1, namespace: gateways, labels: {kubernetes.io/service-name: app}}\naddressType: IPv4\nports: [{name: http, port: ${up.port}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
      // The gateway workload's Service: port "https" is where Envoy listens (its targetPort).
      `apiVersion: v1\nkind: Service\nmetadata: {name: ingress, namespace: gateways}\nspec: ${J({ selector: { app: 'ingress', istio: 'ingressgateway' }, ports: [{ name: 'https', port: 443, targetPort: ports.named }] })}\n`,
      tlsSecret('secure-cert', a),
      tlsSecret('other-cert', b),
      tlsSecret('mutual-cert', a, p.ca),
      gw('ingress', [
        { port: { number: ports.plain }, http: {}, httpsRedirect: true },
        { port: { number: ports.simple }, http: {}, tls: { mode: 'SIMPLE', secretName: 'secure-cert', parameters: { minimumProtocolVersion: 'TLSv1_3' } }, allowedRouteTables: [{ host: 'secure.example.com' }] },
        { port: { number: ports.sni }, http: {}, tls: { mode: 'SIMPLE', secretName: 'secure-cert' }, allowedRouteTables: [{ host: 'secure.example.com' }] },
        { port: { number: ports.sni }, http: {}, tls: { mode: 'SIMPLE', secretName: 'other-cert' }, allowedRouteTables: [{ host: 'other.example.com' }] },
        { port: { number: ports.mutual }, http: {}, tls: { mode: 'MUTUAL', secretName: 'mutual-cert' }, allowedRouteTables: [{ host: 'secure.example.com' }] },
        { port: { name: 'https' }, http: {}, appProtocol: 'HTTPS', tls: { mode: 'SIMPLE', secretName: 'secure-cert' }, allowedRouteTables: [{ host: 'secure.example.com' }] },
        { port: { number: ports.waiting }, http: {}, tls: { mode: 'SIMPLE', secretName: 'not-yet' } },
      ], [{ selector: { labels: { istio: 'ingressgateway' } } }]),
      table('secure', ['secure.example.com'], 'ingress'),
      table('other', ['other.example.com'], 'ingress'),
    ].join('---\n');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tls-gateway-'));
    certs = mkdtempSync(join(tmpdir(), 'tls-gateway-pki-'));
    p = pki(certs);
    client = p.issue('client', 'DNS:client.example.com');
    stranger = p.issue('stranger', 'DNS:client.example.com', 'other-ca');
    up = await startUpstream('app');
    ports = { simple: await freePort(), sni: await freePort(), mutual: await freePort(), plain: await freePort(), named: await freePort(), waiting: await freePort() };
    writeFileSync(join(dir, 'all.yaml'), files(p.issue('secure', 'DNS:secure.example.com'), p.issue('other', 'DNS:other.example.com')));
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'gateways/ingress' });
    await waitFor('the TLS listener to serve', async () => ((await curl('secure.example.com', ports.simple)) === 200 ? true : undefined), 30_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${(await envoy.logs()).slice(-3000)}`);
    });
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await up?.close();
    for (const d of [dir, certs]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('SIMPLE: curl with the CA file gets through; TLS below the minimum version is refused', async () => {
    expect(await curl('secure.example.com', ports.simple)).toBe(200);
    expect(await curl('secure.example.com', ports.simple, ['--tls-max', '1.2'])).toBeLessThan(0);
    // The certificate names secure.example.com only: curl refuses it for another name.
    expect(await curl('other.example.com', ports.simple)).toBeLessThan(0);
  });

  it('SNI per host: two listener entries share a port, each with its certificate', async () => {
    expect(await curl('secure.example.com', ports.sni)).toBe(200);
    expect(await curl('other.example.com', ports.sni)).toBe(200);
    expect(await servedSerial(ports.sni, 'secure.example.com')).not.toBe(await servedSerial(ports.sni, 'other.example.com'));
  });

  it('MUTUAL: a client certificate from the Secret\'s CA is required', async () => {
    expect(await curl('secure.example.com', ports.mutual)).toBeLessThan(0);
    expect(await curl('secure.example.com', ports.mutual, ['--cert', stranger.certFile, '--key', stranger.keyFile])).toBeLessThan(0);
    expect(await curl('secure.example.com', ports.mutual, ['--cert', client.certFile, '--key', client.keyFile])).toBe(200);
  });

  it('httpsRedirect answers plain HTTP with a redirect to https', async () => {
    const r = await httpRequest(ports.plain, { host: 'secure.example.com', path: '/docs?x=1' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://secure.example.com/docs?x=1');
  });

  it('port.name resolves through the gateway\'s Service to the port Envoy listens on', async () => {
    expect(await curl('secure.example.com', ports.named)).toBe(200);
  });

  it('a listener whose Secret does not exist yet waits, says so, and serves once it appears', async () => {
    expect(await curl('secure.example.com', ports.waiting)).toBeLessThan(0);
    const status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
    expect(status['VirtualGateway/gateways/ingress'].messages.join('\n')).toContain('waiting for Secret gateways/not-yet');
    writeFileSync(join(dir, 'later.yaml'), tlsSecret('not-yet', p.issue('late', 'DNS:secure.example.com')));
    await waitFor('the listener of the new Secret', async () => ((await curl('secure.example.com', ports.waiting)) === 200 ? true : undefined), 15_000).catch(async (e) => {
      throw new Error(`${e.message} ${await curl('secure.example.com', ports.waiting)} ${J(await mp.get('/debug/status'))} ${J(((await envoy.configDump()) as { configs: Array<Record<string, unknown>> }).configs.filter((c) => /Listeners|Secrets/.test(String(c['@type'])))).replace(/"(certificate_chain|private_key|inline_string)":(\{[^}]*\}|"[^"]*")/g, '').slice(-5000)}`);
    });
  });

  it('a new certificate in the Secret reaches Envoy over SDS without a restart', async () => {
    const before = await servedSerial(ports.simple, 'secure.example.com');
    const text = readFileSync(join(dir, 'all.yaml'), 'utf8').replace(/apiVersion: v1\nkind: Secret\nmetadata: \{name: secure-cert[^]*?\n(?=---)/, tlsSecret('secure-cert', p.issue('secure2', 'DNS:secure.example.com')));
    writeFileSync(join(dir, 'all.yaml'), text);
    await waitFor('the rotated certificate', async () => ((await servedSerial(ports.simple, 'secure.example.com')) !== before ? true : undefined), 15_000);
    expect(await curl('secure.example.com', ports.simple)).toBe(200);
  });

  it('no key material in status, the IR or the proxy config views', async () => {
    const key = readFileSync(join(certs, 'secure2-key.pem'), 'utf8').split('\n')[1];
    for (const path of ['/debug/status', '/debug/ir', '/debug/config/gateways/ingress']) {
      const text = J(await mp.get(path));
      expect(text, path).not.toContain(key);
      expect(text, path).not.toContain(b64(readFileSync(join(certs, 'secure2-key.pem'), 'utf8')).slice(0, 40));
    }
    expect(mp.logs.join('\n')).not.toContain(key);
  });
});
