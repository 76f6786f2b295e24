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
});
