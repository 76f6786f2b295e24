// The compose demo's config (examples/demo): two teams, delegation across
// them, label-attached policies, a rate limit, ext auth and the default-deny
// gate, as `meshplane explain` sees it (the README walkthrough's answers).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const DEMO = join(ROOT, 'examples/demo');
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const explain = (...args: string[]) => cli('explain', '--config-dir', join(DEMO, 'config'), '--settings', join(DEMO, 'settings.yaml'), ...args);

interface Route { path: Array<{ table: string; route: string }>; labels: Record<string, string>; policies: Array<{ kind: string; name: string }>; skipped: Array<{ kind: string; name: string; reason: string }>; denied?: string }

describe('the compose demo config', () => {
  it('validates clean', () => {
    expect(cli('validate', '--config-dir', join(DEMO, 'config'), '--settings', join(DEMO, 'settings.yaml'))).toMatch(/no errors, 0 warning/i);
  });

  it('delegates /api across workspaces and attaches each policy by label', () => {
    const out = JSON.parse(explain()) as { routes: Route[]; status: Record<string, { state: string }> };
    const byRoute = new Map(out.routes.map((r) => [r.path.map((p) => `${p.table}:${p.route}`).join(' > '), r]));
    expect([...byRoute.keys()].sort()).toEqual(['web/shop:api > api/api:admin', 'web/shop:api > api/api:orders', 'web/shop:api > api/api:products', 'web/shop:home']);
    const names = (r: Route) => r.policies.map((p) => `${p.kind}/${p.name}`).sort();
    expect(names(byRoute.get('web/shop:api > api/api:products')!)).toEqual(['HeaderManipulationPolicy/public-header', 'RateLimitPolicy/per-minute']);
    expect(names(byRoute.get('web/shop:api > api/api:orders')!)).toEqual(['ExtAuthPolicy/api-key', 'HeaderManipulationPolicy/public-header']);
    // The label the delegating route set reaches the api team's routes.
    expect(byRoute.get('web/shop:api > api/api:orders')!.labels.exposure).toBe('public');
    expect(byRoute.get('web/shop:api > api/api:admin')!.denied).toBe('gatewayDefaultDenyAllHTTPRequests');
    expect(byRoute.get('web/shop:api > api/api:orders')!.denied).toBeUndefined();
    const home = byRoute.get('web/shop:home')!;
    expect(names(home)).toEqual(['HeaderManipulationPolicy/public-header']);
    expect(home.skipped).toEqual([expect.objectContaining({ kind: 'RateLimitPolicy', name: 'per-minute', reason: 'workspace-not-on-chain' })]);
    expect(Object.values(out.status).filter((s) => s.state !== 'ACCEPTED')).toEqual([]);
  });

  it('explains the gate and the skipped policy in the table view', () => {
    expect(explain('--route', 'api/api:admin', '--output', 'table')).toMatch(/denied: 403 by the feature gate gatewayDefaultDenyAllHTTPRequests/);
    expect(explain('--policy', 'RateLimitPolicy/api/per-minute', '--output', 'table')).toMatch(/skipped RateLimitPolicy:api\/per-minute \[workspace-not-on-chain\]/);
  });
});
