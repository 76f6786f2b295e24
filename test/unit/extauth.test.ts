// ExtAuthPolicy glooAuth from manifests to the ext-auth config file: what the
// core resolves (test/fixtures/scenarios/extauth-gloo-auth), what the file
// holds, and that key material shows only in the file.
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { extAuthFile, parseExtAuthFile } from '../../src/extauth/config-file.js';
import { Engine } from '../../src/extauth/engine.js';
import { authRequest, checkResponse } from '../../src/extauth/server.js';
import { loadScenario } from '../support/scenario.js';

const core = loadScenario(join(import.meta.dirname, '../fixtures/scenarios/extauth-gloo-auth'));
const file = extAuthFile(core.ir);
const check = (headers: Record<string, string>, path = '/') => ({ attributes: { request: { http: { method: 'GET', path, host: 'shop.example.com', headers } } } });

describe('glooAuth config for meshplane ext-auth', () => {
  it('resolves API keys by label within the policy\'s workspace, first Secret of a duplicated key wins', () => {
    const keys = file.configs['ExtAuthPolicy/apps/keys']!.steps[0]!;
    expect(keys).toMatchObject({ kind: 'apiKey', headerName: 'x-api-key', headersFromMetadata: [{ header: 'x-user-id', entry: 'user-id', required: true }] });
    if (keys.kind !== 'apiKey') throw new Error('not an apiKey step');
    expect(keys.keys).toEqual([{ source: 'Secret/apps/alice', key: 'alice-key', metadata: { 'user-id': 'alice' } }]);
  });

  it('reads Rego modules from ConfigMaps and the OIDC client secret from a platform namespace', () => {
    expect(file.configs['ExtAuthPolicy/apps/opa']).toMatchObject({ waitingFor: ['ConfigMap/apps/not-yet'], steps: [{ kind: 'opa', query: 'data.test.allow == true', modules: [{ name: 'ConfigMap/apps/rego/policy.rego' }] }] });
    expect(file.configs['ExtAuthPolicy/apps/oidc']!.steps[0]).toMatchObject({ kind: 'oidc', clientId: 'shop', clientSecret: 's3cr3t-value', scopes: ['openid', 'email'], callbackPath: '/callback', idTokenHeader: 'jwt', session: { store: 'cookie', cookie: { secure: true, httpOnly: true, path: '/' } } });
  });

  it('shows key material only in the file: the IR, status and explain say [redacted]', () => {
    const ir = JSON.stringify(core.ir) + JSON.stringify(core.status);
    for (const s of ['alice-key', 's3cr3t-value']) expect(ir).not.toContain(s);
    expect(ir).toContain('[redacted]');
    expect(JSON.stringify(file)).toContain('alice-key');
    expect(Object.keys(file.configs)).not.toContain('ExtAuthPolicy/apps/both');
  });

  it('refuses a file of another format, naming the file but not its contents', () => {
    expect(() => parseExtAuthFile('{"format":2,"configs":{}}', '/x.json')).toThrow(/format 2/);
    expect(() => parseExtAuthFile('api-key: alice-key', '/x.json')).toThrow(/not JSON/);
    expect(() => parseExtAuthFile('api-key: alice-key', '/x.json')).not.toThrow(/alice/);
  });

  it('decides API key checks and fails closed on configs it does not have', async () => {
    const engine = new Engine({}, pino({ level: 'silent' }));
    await engine.load(parseExtAuthFile(JSON.stringify(file), 'f'));
    const ok = await engine.check('ExtAuthPolicy/apps/keys', authRequest(check({ 'x-api-key': 'alice-key' })));
    expect(checkResponse(ok)).toMatchObject({ status: { code: 0 }, okResponse: { headers: [{ header: { key: 'x-user-id', value: 'alice' } }] } });
    expect(await engine.check('ExtAuthPolicy/apps/keys', authRequest(check({ 'x-api-key': 'alice-keyX' })))).toMatchObject({ allow: false, status: 401 });
    expect(await engine.check('ExtAuthPolicy/apps/keys', authRequest(check({})))).toMatchObject({ allow: false, status: 401 });
    expect(checkResponse(await engine.check('ExtAuthPolicy/apps/unknown', authRequest(check({}))))).toMatchObject({ status: { code: 14 }, deniedResponse: { status: { code: 503 } } });
    // Waiting for a ConfigMap; and OPA steps need the evaluator this engine was not given.
    expect(await engine.check('ExtAuthPolicy/apps/opa', authRequest(check({})))).toMatchObject({ allow: false, status: 503 });
    expect(await engine.check(undefined, authRequest(check({})))).toMatchObject({ allow: false, status: 403 });
  });
});
