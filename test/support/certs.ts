// A throwaway PKI made with the openssl CLI: a CA, meshplane's server
// certificate, and client certificates naming gateways by SPIFFE URI SAN.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  ca: string;
  files: { ca: string; serverCert: string; serverKey: string };
  /** PEM cert + key for a client whose URI SAN names gateway ns/name. */
  client(ns: string, name: string): { cert: string; key: string };
  /** A client certificate signed by a CA meshplane does not trust. */
  stranger(): { cert: string; key: string };
  /** A client certificate with this URI SAN (e.g. spiffe://meshplane.test/workspace/team). */
  withUri(id: string, uri: string): { cert: string; key: string };
}

const ossl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

function issue(dir: string, name: string, subject: string, san: string, caName = 'ca'): void {
  ossl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  ossl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

function makeCa(dir: string, name: string): void {
  ossl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2');
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'meshplane-pki-'));
  makeCa(dir, 'ca');
  issue(dir, 'server', '/CN=meshplane', 'DNS:meshplane,DNS:localhost,IP:127.0.0.1');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    ca: read('ca.pem'),
    files: { ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server-key.pem') },
    client(ns, name) {
      const id = `client-${ns}-${name}`;
      issue(dir, id, `/CN=${name}.${ns}`, `URI:spiffe://meshplane.test/ns/${ns}/gateway/${name}`);
      return { cert: read(`${id}.pem`), key: read(`${id}-key.pem`) };
    },
    withUri(id, uri) {
      issue(dir, id, `/CN=${id}`, `URI:${uri}`);
      return { cert: read(`${id}.pem`), key: read(`${id}-key.pem`) };
    },
    stranger() {
      makeCa(dir, 'other-ca');
      issue(dir, 'stranger', '/CN=stranger', 'URI:spiffe://meshplane.test/ns/a/gateway/gw', 'other-ca');
      return { cert: read('stranger.pem'), key: read('stranger-key.pem') };
    },
  };
}
