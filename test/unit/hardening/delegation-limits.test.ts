// Defect class 1 (issue 9): delegation that fans out exponentially. A 4.7 KB file
// whose tables each delegate twice to the next once expanded to 2^N routes and
// overflowed the stack. Now the work per root table is bounded by a limit, the
// over-limit table is INVALID naming the limit, and everything else is served.
import { describe, expect, it } from 'vitest';
import { computeCore, createCore, DEFAULT_SETTINGS, type CoreSettings } from '../../../src/core/index.js';
import type { Resource } from '../../../src/resources/schema.js';
import { forward, gateway, routeTable, service, settings, workspace } from '../../support/build.js';

const base = (): Resource[] => [workspace('team', ['apps']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web')];
const withLimits = (limits: CoreSettings['limits']): CoreSettings => ({ ...DEFAULT_SETTINGS, limits });

/** Root "bomb" -> t1 -> ... -> tN, each table delegating twice (by name and by label) to the next. */
function fanOut(levels: number, leaf: 'routes' | 'empty'): Resource[] {
  const out: Resource[] = [];
  for (let i = 0; i < levels; i++) {
    const next = `t${i + 1}`;
    const http = [
      { name: 'a', delegate: { routeTables: [{ name: next }] } },
      { name: 'b', delegate: { routeTables: [{ labels: { level: String(i + 1) } }] } },
    ];
    const extra = i === 0 ? { hosts: ['bomb.example.com'], virtualGateways: [{ name: 'gw' }] } : {};
    out.push(routeTable('apps', i === 0 ? 'bomb' : `t${i}`, http, extra, i === 0 ? {} : { level: String(i) }));
  }
  out.push(routeTable('apps', `t${levels}`, leaf === 'routes' ? [forward('leaf', 'web')] : [], {}, { level: String(levels) }));
  return out;
}

const good = () => routeTable('apps', 'good', [forward('ok', 'web')], { hosts: ['good.example.com'], virtualGateways: [{ name: 'gw' }] });

describe('delegation limits', () => {
  it('stops a doubling delegation tree at the root-table limit: INVALID naming the limit, other tables served', () => {
    const core = computeCore([...base(), ...fanOut(24, 'routes'), good()]);
    const bomb = core.status['RouteTable/apps/bomb'];
    expect(bomb.state).toBe('INVALID');
    expect(bomb.messages.join(' ')).toMatch(/maxRoutesPerRootTable = 50000/);
    expect(core.ir.routes.filter((r) => r.table === 'apps/good')).toHaveLength(1);
    expect(core.ir.routes.some((r) => r.hosts.includes('bomb.example.com'))).toBe(false);
    expect(core.ir.gateways[0].listeners[0].virtualHosts.map((v) => v.name)).toEqual(['good.example.com']);
  });

  it('bounds the work even when the leaves produce no route at all (2^N delegations, zero routes)', () => {
    const core = computeCore([...base(), ...fanOut(30, 'empty'), good()], withLimits({ maxRoutesPerRootTable: 5000 }));
    expect(core.status['RouteTable/apps/bomb'].state).toBe('INVALID');
    expect(core.status['RouteTable/apps/bomb'].messages.join(' ')).toMatch(/limit maxRoutesPerRootTable = 5000/);
    expect(core.ir.routes.filter((r) => r.table === 'apps/good')).toHaveLength(1);
  });

  it('serves a tree that stays under the limit in full, in order', () => {
    const core = computeCore([...base(), ...fanOut(6, 'routes')]);
    expect(core.status['RouteTable/apps/bomb'].state).not.toBe('INVALID');
    expect(core.ir.routes).toHaveLength(2 ** 6);
    expect(core.ir.routes.map((r) => r.order)).toEqual([...Array(64).keys()]);
  });

  it('refuses the table that would take a gateway over its limit; tables bound before it keep theirs', () => {
    const many = (name: string, n: number, weight: number) =>
      routeTable('apps', name, Array.from({ length: n }, (_, i) => forward(`${name}-${i}`, 'web')), { hosts: [`${name}.example.com`], virtualGateways: [{ name: 'gw' }], weight });
    const core = computeCore([...base(), many('first', 60, 10), many('second', 60, 5)], withLimits({ maxRoutesPerGateway: 100 }));
    expect(core.status['RouteTable/apps/first'].state).toBe('ACCEPTED');
    expect(core.status['RouteTable/apps/second'].state).toBe('INVALID');
    expect(core.status['RouteTable/apps/second'].messages[0]).toMatch(/maxRoutesPerGateway = 100/);
    expect(core.ir.gateways[0].listeners[0].virtualHosts.map((v) => v.name)).toEqual(['first.example.com']);
  });

  it('counts a table\'s Envoy routes alike when its delegated subtrees are reused from the last computation', () => {
    // root -> child (delegates by label) -> two leaf tables; a leaf route with 3 matcher alternatives.
    const leaf = (name: string, matchers: number) => routeTable('apps', name, [{ ...forward(`${name}-r`, 'web'), matchers: Array.from({ length: matchers }, (_, i) => ({ uri: { prefix: `/${name}/${i}` } })) }], {}, { leaf: 'yes' });
    const tables = (matchers: number) => [
      routeTable('apps', 'root', [{ name: 'all', delegate: { routeTables: [{ name: 'child' }] } }], { hosts: ['a.example.com'], virtualGateways: [{ name: 'gw' }] }),
      routeTable('apps', 'child', [{ name: 'leaves', delegate: { routeTables: [{ labels: { leaf: 'yes' } }] } }]),
      leaf('l1', 3),
      leaf('l2', matchers),
    ];
    const engine = createCore();
    // 3 + 2 Envoy routes fit a limit of 5; the second computation reuses l1's subtree.
    expect(engine([...base(), ...tables(2)], withLimits({ maxRoutesPerGateway: 5 })).status['RouteTable/apps/root'].state).toBe('ACCEPTED');
    const over = engine([...base(), ...tables(3)], withLimits({ maxRoutesPerGateway: 5 }));
    expect(over.status['RouteTable/apps/root'].messages.join(' ')).toMatch(/would give the gateway 6 routes/);
    expect(engine([...base(), ...tables(2)], withLimits({ maxRoutesPerGateway: 5 })).status['RouteTable/apps/root'].state).toBe('ACCEPTED');
  });

  it('counts matcher alternatives, which multiply down a chain, against the same budget', () => {
    const alts = (n: number) => Array.from({ length: n }, (_, i) => ({ headers: [{ name: `h${i}`, value: 'x' }] }));
    const out: Resource[] = [...base()];
    for (let i = 0; i < 12; i++) {
      const route = { name: 'r', matchers: alts(4), delegate: { routeTables: [{ name: `m${i + 1}` }] } };
      out.push(routeTable('apps', `m${i}`, [route], i === 0 ? { hosts: ['m.example.com'], virtualGateways: [{ name: 'gw' }] } : {}));
    }
    out.push(routeTable('apps', 'm12', [{ ...forward('leaf', 'web'), matchers: alts(4) }]));
    const core = computeCore(out, withLimits({ maxRoutesPerRootTable: 10_000 }));
    // 4^13 alternatives would be 67M Envoy routes: the route that would exceed the budget is invalid instead.
    const invalid = Object.entries(core.status).filter(([, s]) => s.state === 'INVALID');
    expect(invalid.map(([k]) => k)).toEqual(['RouteTable/apps/m6']); // 4^7 > what is left of 10,000
    expect(invalid[0][1].messages[0]).toMatch(/16384 alternatives, more than the \d+ routes left under the limit maxRoutesPerRootTable = 10000/);
    const envoyRoutes = core.ir.routes.reduce((n, r) => n + r.matchers.length, 0);
    expect(envoyRoutes).toBeLessThanOrEqual(10_000);
  });
});
