// TLS origination to ExternalServices (issue 13): SNI, the CA from a
// credentialName Secret (else the system bundle), an optional client
// certificate, all over SDS; a missing or broken Secret is reported.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { computeCore } from '../../src/core/index.js';
import { gatewayKey } from '../../src/ir/keys.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';
import { coreSettings } from '../../src/settings.js';
import { SYSTEM_CA_BUNDLE } from '../../src/translate/external-tls.js';
import { translateAll } from '../../src/translate/index.js';
import { makePki } from '../support/certs.js';

const load = (text: string): Resource[] =>
  parseAllDocuments(text).map((d) => {
    const r = validateResource(d.toJS());
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.resource;
  });

const pki = makePki();
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));
const client = pki.withUri('egress-client', 'spiffe://cluster.local/ns/ops/sa/egress');
const indent = (pem: string) => pem.trim().split('\n').map((l) => `      ${l}`).join('\n');

function setup(port: string, secret = ''): string {
  return [
    `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: ops, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: ops}]}]}`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: ops}\nspec: {workloads: [{selector: {labels: {app: gw}}}], listeners: [{port: {number: 8080}, http: {}}]}`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: rt, namespace: ops}\nspec: {hosts: ['*'], virtualGateways: [{name: gw}], http: [{name: db, forwardTo: {destinations: [{ref: {name: db, namespace: ops}, kind: EXTERNAL_SERVICE, port: {number: 443}}]}}]}`,
    `apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: db, namespace: ops}\nspec:\n  hosts: [db.example.internal]\n  ports:\n${port}`,
    ...(secret ? [secret] : []),
  ].join('\n---\n');
}
const secretYaml = (keys: Record<string, string>) =>
  `apiVersion: v1\nkind: Secret\nmetadata: {name: db-tls, namespace: ops}\nstringData:\n${Object.entries(keys).map(([k, v]) => `  ${k}: |\n${indent(v)}`).join('\n')}`;

const run = (text: string) => {
  const core = computeCore(load(text), coreSettings({}));
  return { core, res: translateAll(core.ir, { listenerAddress: '0.0.0.0' }).get(gatewayKey('ops/gw')) };
};
const tlsOf = (res: ReturnType<typeof run>['res']) => {
  const c = res!.cluster.find((x) => x.name.includes('db'))!;
  return ((c.body.transportSocket as { typedConfig: Record<string, unknown> }).typedConfig) as Record<string, any>;
};

describe('TLS origination to an ExternalService', () => {
  it('HTTPS with clientsideTls: {} sends the host as SNI and verifies against the system bundle', () => {
    const { res } = run(setup(`  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {}}`));
    const tls = tlsOf(res);
    expect(tls.sni).toBe('db.example.internal');
    expect(tls.commonTlsContext.validationContext.trustedCa.filename).toBe(SYSTEM_CA_BUNDLE);
    expect(tls.commonTlsContext.validationContext.matchTypedSubjectAltNames).toEqual([{ sanType: 'DNS', matcher: { exact: 'db.example.internal' } }]);
  });

  it('credentialName gives the CA and a client certificate over SDS, sni and subjectAltNames override', () => {
    const { core, res } = run(setup(`  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {sni: db.internal, subjectAltNames: [db.internal], credentialName: db-tls}}`, secretYaml({ 'ca.crt': pki.ca, 'tls.crt': client.cert, 'tls.key': client.key })));
    expect(core.status['ExternalService/ops/db'].state).toBe('ACCEPTED');
    const tls = tlsOf(res);
    expect(tls.sni).toBe('db.internal');
    expect(tls.commonTlsContext.tlsCertificateSdsSecretConfigs[0].name).toBe('tls/ops/db-tls');
    expect(tls.commonTlsContext.combinedValidationContext.validationContextSdsSecretConfig.name).toBe('ca/ops/db-tls');
    expect(tls.commonTlsContext.combinedValidationContext.defaultValidationContext.matchTypedSubjectAltNames[0].matcher.exact).toBe('db.internal');
    const names = res!.secret.map((s) => s.name).sort();
    expect(names).toEqual(['ca/ops/db-tls', 'tls/ops/db-tls']);
  });

  it('waits for a missing Secret and refuses a broken one, without quoting it', () => {
    const missing = run(setup(`  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {credentialName: db-tls}}`));
    expect(missing.core.status['ExternalService/ops/db'].messages.join('\n')).toContain('waiting for Secret ops/db-tls');
    const broken = run(setup(`  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {credentialName: db-tls}}`, secretYaml({ 'tls.crt': client.cert })));
    expect(broken.core.status['ExternalService/ops/db'].state).toBe('INVALID');
    expect(broken.core.status['ExternalService/ops/db'].messages.join('\n')).toContain('has tls.crt without tls.key');
  });

  it('keeps unknown clientsideTls settings and says they are not applied', () => {
    const { core } = run(setup(`  - {name: https, number: 443, protocol: HTTPS, clientsideTls: {cipherSuites: [x]}}`));
    expect(core.status['ExternalService/ops/db'].messages.join('\n')).toContain('clientsideTls.cipherSuites is not applied');
  });
});
