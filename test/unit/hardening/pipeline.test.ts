// A bug in any stage must not end the pipeline: the change is logged, what is
// served stays, and the next change is applied.
import pino from 'pino';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { runPipeline, type PipelineState } from '../../../src/pipeline.js';
import { DEFAULT_SETTINGS } from '../../../src/core/index.js';
import type { Resource } from '../../../src/resources/schema.js';
import type { ResourceSet } from '../../../src/sources/file.js';
import { SnapshotCache } from '../../../src/xds/snapshot.js';
import { forward, gateway, routeTable, service, settings, workspace } from '../../support/build.js';

describe('pipeline', () => {
  it('survives a stage that throws, keeps the served config, and applies the next change', () => {
    const sets = new Subject<ResourceSet>();
    const cache = new SnapshotCache();
    const state: PipelineState = { generation: 0 };
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const stop = runPipeline(sets, DEFAULT_SETTINGS, { listenerAddress: '127.0.0.1' }, cache, log, state);
    const good = (n: number): Resource[] => [workspace('team', ['apps']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web'),
      routeTable('apps', 'root', Array.from({ length: n }, (_, i) => forward(`r${i}`, 'web')), { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] })];
    sets.next({ resources: good(1), rejected: [], diagnostics: [] });
    const served = cache.get('gateway:apps/gw');
    expect(served).toBeDefined();
    // A resource no source would produce (spec missing) makes the core throw.
    const broken = { ...routeTable('apps', 'evil', []), spec: undefined } as unknown as Resource;
    sets.next({ resources: [...good(1), broken], rejected: [], diagnostics: [] });
    expect(lines.join('')).toMatch(/could not compute the configuration for this change; the previous configuration is still served/);
    expect(cache.get('gateway:apps/gw')).toBe(served);
    sets.next({ resources: good(2), rejected: [], diagnostics: [] });
    expect(state.generation).toBe(2);
    expect(cache.get('gateway:apps/gw')).not.toBe(served);
    stop();
  });

  it('logs a broken file or an invalid resource when it appears or changes, not again on every later change', () => {
    const sets = new Subject<ResourceSet>();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const stop = runPipeline(sets, DEFAULT_SETTINGS, { listenerAddress: '127.0.0.1' }, new SnapshotCache(), log, { generation: 0 });
    const base = [workspace('team', ['apps']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web')];
    const root = (n: number, gw = 'gw') => routeTable('apps', 'root', Array.from({ length: n }, (_, i) => forward(`r${i}`, 'web')), { hosts: ['x.example.com'], virtualGateways: [{ name: gw }] });
    const broken = { file: 'routes.yaml', document: 1, line: 3, resource: 'RouteTable/apps/b', keptPrevious: true, problems: [{ path: 'spec.hostz', message: 'unknown field' }] };
    const said = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    sets.next({ resources: [...base, root(1, 'nope')], rejected: [], diagnostics: [broken] } as unknown as ResourceSet);
    sets.next({ resources: [...base, root(2, 'nope')], rejected: [], diagnostics: [broken] } as unknown as ResourceSet);
    expect(said(/RouteTable\/apps\/root is invalid/)).toBe(1);
    expect(said(/spec\.hostz: unknown field/)).toBe(1);
    // Every summary still counts it.
    expect(lines.filter((l) => l.includes('"msg":"configuration updated"')).map((l) => JSON.parse(l).invalid)).toEqual([1, 1]);
    // Fixed: said once; broken again: said again.
    sets.next({ resources: [...base, root(2)], rejected: [], diagnostics: [] } as unknown as ResourceSet);
    expect(said(/RouteTable\/apps\/root is no longer invalid/)).toBe(1);
    sets.next({ resources: [...base, root(2, 'nope')], rejected: [], diagnostics: [broken] } as unknown as ResourceSet);
    expect(said(/RouteTable\/apps\/root is invalid/)).toBe(2);
    expect(said(/spec\.hostz: unknown field/)).toBe(2);
    stop();
  });
});
