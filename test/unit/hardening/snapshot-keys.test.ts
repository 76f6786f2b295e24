// Defect class 5 (issue 9): snapshot keys of different roles must never collide.
// A VirtualGateway "proxyless/team" once took over workspace team's proxyless snapshot.
import { describe, expect, it } from 'vitest';
import { computeCore } from '../../../src/core/index.js';
import { parseSnapshotKey, PROXY_ROLES, snapshotKey } from '../../../src/ir/keys.js';
import { translateAll } from '../../../src/translate/index.js';
import { nodeInfo, proxyKey } from '../../../src/xds/identity.js';
import { gateway, res, routeTable, service, settings, workspace } from '../../support/build.js';
import fc from 'fast-check';

const NET = 'networking.gloo.solo.io/v2';

describe('snapshot keys', () => {
  it('keep a gateway named like another workspace\'s proxyless key apart from it', () => {
    const input = [
      workspace('team', ['apps']),
      workspace('gwteam', ['proxyless']),
      settings('team', 'apps'),
      ...service('apps', 'echo'),
      // team's sidecar-served (proxyless) table: root table without virtualGateways
      routeTable('apps', 'internal', [{ name: 'echo', forwardTo: { destinations: [{ ref: { name: 'echo' }, port: { number: 80 } }] } }], { hosts: ['echo.internal'] }),
      // another tenant's gateway whose ns/name spells the old proxyless key "proxyless/team"
      res({ apiVersion: NET, kind: 'VirtualGateway', metadata: { name: 'team', namespace: 'proxyless' }, spec: { listeners: [{ port: { number: 8080 }, http: {} }] } }),
      gateway('proxyless'),
    ];
    const out = translateAll(computeCore(input).ir, { listenerAddress: '127.0.0.1' });
    const keys = [...out.keys()].sort();
    expect(keys).toEqual(['gateway:proxyless/gw', 'gateway:proxyless/team', 'proxyless:team']);
    // The gateway's proxy (node.cluster "proxyless/team") gets the gateway, never team's clusters.
    const gwKey = proxyKey(nodeInfo({ id: 'x', cluster: 'proxyless/team' })!)!;
    expect(gwKey).toBe('gateway:proxyless/team');
    expect(out.get(gwKey)!.cluster).toEqual([]);
    expect(out.get('proxyless:team')!.cluster.map((c) => c.name)).toEqual(['svc/apps/echo:80@team']);
    // A proxyless client of workspace team gets its own key.
    expect(proxyKey(nodeInfo({ id: 'y', metadata: { fields: { role: { stringValue: 'proxyless' }, workspace: { stringValue: 'team' } } } })!)).toBe('proxyless:team');
  });

  it('cannot collide by construction: distinct (role, id) pairs give distinct keys for any valid names', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/);
    const id = fc.oneof(name, fc.tuple(name, name).map(([a, b]) => `${a}/${b}`));
    fc.assert(
      fc.property(fc.constantFrom(...PROXY_ROLES), id, fc.constantFrom(...PROXY_ROLES), id, (r1, i1, r2, i2) => {
        const same = r1 === r2 && i1 === i2;
        expect(snapshotKey(r1, i1) === snapshotKey(r2, i2)).toBe(same);
        expect(parseSnapshotKey(snapshotKey(r1, i1))).toEqual({ role: r1, id: i1 });
      }),
    );
  });

  it('refuses an unknown role instead of guessing a gateway', () => {
    expect(proxyKey(nodeInfo({ id: 'z', cluster: 'ns/gw', metadata: { fields: { role: { stringValue: 'sidecarr' } } } })!)).toBeUndefined();
  });
});
