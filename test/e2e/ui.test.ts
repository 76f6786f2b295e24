// The /ui page in Debian's Chromium, against `meshplane serve` on seed 02's
// delegated scenario 4: the parent's route B does not get the child
// workspace's policy, and the page says why. Proxies' ACK/NACK state and a
// file edit reach the open page without a reload.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../src/admin/ui/build.js';
import { typeUrl } from '../../src/xds/protos.js';
import { openBrowser, type BrowserHandle } from '../support/browser.js';
import { REPO_ROOT } from '../support/envoy.js';
import { startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort } from '../support/net.js';
import { scriptedStream, type ScriptedStream } from '../support/xds-client.js';

const SCENARIO = join(REPO_ROOT, 'test/fixtures/scenarios/delegated-4-workspace-boundaries');
const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
interface Response { versionInfo: string; nonce: string }

const routeNode = (page: Page, label: string) => page.locator('#main g.node.route > text.label', { hasText: label }).first();
/** Clicks a route and waits for its explanation (fetched on selection). */
async function open(page: Page, label: string) {
  await routeNode(page, label).click();
  await page.locator('#detail[data-state="ready"] h2', { hasText: label }).waitFor();
}

describe('the /ui page in Chromium', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  let browser: BrowserHandle;
  let page: Page;
  const streams: Array<ScriptedStream<Response>> = [];

  beforeAll(async () => {
    await buildUi();
    dir = mkdtempSync(join(tmpdir(), 'mp-ui-'));
    cpSync(SCENARIO, dir, { recursive: true });
    mp = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort() });
    browser = await openBrowser();
    page = browser.page;
  });
  afterAll(async () => {
    for (const s of streams) s.call.end();
    await browser?.close();
    await mp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the host\'s delegation tree with workspaces as swim lanes', async () => {
    await page.goto(`http://127.0.0.1:${mp.adminPort}/ui`);
    await page.locator('#main g.node.route').first().waitFor();
    expect(await page.locator('#hosts .gw-name').first().textContent()).toContain('parent/gw');
    expect(await page.locator('#hosts a.host.current').textContent()).toContain('www.example.com');
    expect(await page.locator('.lane-head').allTextContents()).toEqual(['gateway parent/gw', 'parent-ws', 'child-ws']);
    // route A delegates to the child's table, in the child's lane; route B is the parent's own.
    expect(await page.locator('#main g.node.link > text.label').allTextContents()).toEqual(['parent/parent:route-a']);
    expect((await page.locator('#main g.node.route > text.label').allTextContents()).sort()).toEqual(['child/child:route-a', 'parent/parent:route-b']);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
  });

  it('shows a route\'s labels with their source, its policies, and why a policy is skipped', async () => {
    await open(page, 'parent/parent:route-b');
    const detail = page.locator('#detail');
    expect(await detail.locator('table.labels tr').nth(1).locator('td').allTextContents()).toEqual(['val', 'foo', 'table parent/parent']);
    expect(await detail.locator('.applied li').allTextContents()).toEqual([expect.stringContaining('RetryTimeoutPolicy parent/policy-1')]);
    const skip = detail.locator('.skip');
    expect(await skip.count()).toBe(1);
    expect(await skip.getAttribute('data-reason')).toBe('workspace-not-on-chain');
    expect(await skip.textContent()).toMatch(/FaultInjectionPolicy child\/policy-2.*workspace-not-on-chain.*"child-ws", which sees this route's table but is not on its delegation chain \(parent-ws\)/);

    await open(page, 'child/child:route-a');
    expect(await detail.locator('.applied li').allTextContents()).toEqual([expect.stringContaining('FaultInjectionPolicy child/policy-2'), expect.stringContaining('RetryTimeoutPolicy parent/policy-1')]);
    expect(await detail.locator('ol.chain li').allTextContents()).toEqual(['parent/parent:route-a parent-ws', 'child/child:route-a child-ws']);
  });

  it('shows each proxy\'s ACK and NACK as they happen', async () => {
    const connect = async (id: string, nack?: string) => {
      const s = scriptedStream<Response>(mp.xdsPort, ADS, 'sotw');
      streams.push(s);
      s.send({ node: { id, cluster: 'parent/gw' }, typeUrl: typeUrl('cluster') });
      const r = await s.next(10_000);
      s.send({ typeUrl: typeUrl('cluster'), versionInfo: nack ? '' : r.versionInfo, responseNonce: r.nonce, ...(nack ? { errorDetail: { code: 3, message: nack } } : {}) });
    };
    await connect('ui-proxy-ok');
    await connect('ui-proxy-bad', 'cluster parent-svc: rejected for the UI test');
    await expect.poll(() => page.locator('#hosts .gw-name').first().textContent(), { timeout: 10_000 }).toContain('1 of 2 NACK');
    await page.locator('#nav-proxies').click();
    const bad = page.locator('table.proxies tr[data-node="ui-proxy-bad"] td.nack');
    await bad.waitFor();
    expect(await bad.textContent()).toContain('rejected for the UI test');
    expect(await page.locator('table.proxies tr[data-node="ui-proxy-ok"] td.ack').count()).toBe(1);
    mkdirSync(join(REPO_ROOT, '.ci-work'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, '.ci-work/ui-proxies.png') });
  });

  it('lists destinations with their client- and server-side policies, and every resource\'s status', async () => {
    await page.locator('#nav-destinations').click();
    const dest = page.locator('#main .dest', { hasText: 'SERVICE parent/parent-svc' });
    await dest.first().waitFor();
    expect(await dest.first().textContent()).toMatch(/owner parent-ws, used from parent-ws[\s\S]*client-side: none[\s\S]*server-side: none/);
    await page.locator('#nav-status').click();
    await page.locator('#main h2', { hasText: 'Status' }).waitFor();
    expect(await page.locator('#main .meta').textContent()).toMatch(/\d+ resources, \d+ not accepted/);
  });

  it('follows a file edit live: the selected route now says which label kept the policy off', async () => {
    await page.locator('#hosts a.host').first().click();
    await open(page, 'parent/parent:route-b');
    const before = Number(await page.locator('body').getAttribute('data-generation'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"name": "policy-1", "namespace": "parent"}\nspec: {"applyToRoutes": [{"route": {"labels": {"val": "foo"}}}]', '"name": "policy-1", "namespace": "parent"}\nspec: {"applyToRoutes": [{"route": {"labels": {"val": "bar"}}}]'));
    await expect.poll(() => page.locator('body').getAttribute('data-generation'), { timeout: 15_000 }).toBe(String(before + 1));
    const detail = page.locator('#detail');
    expect(await detail.locator('h2').textContent()).toBe('parent/parent:route-b'); // the selection survives the update
    const labels = detail.locator('.skip[data-reason="labels"]');
    await labels.waitFor();
    expect(await labels.textContent()).toContain('RetryTimeoutPolicy parent/policy-1');
    expect(await labels.locator('table.labels tr').nth(1).locator('td').allTextContents()).toEqual(['val', 'bar', 'foo', 'table parent/parent']);
    expect(await detail.locator('.applied li').count()).toBe(0);
    await page.screenshot({ path: join(REPO_ROOT, '.ci-work/ui.png') });
  });

  it('asks for the bearer token when the admin API needs one, and then shows the data', async () => {
    const tokenFile = join(dir, '..', `${dir.split('/').pop()}-token`);
    writeFileSync(tokenFile, 'ui-s3cret\n');
    const guarded = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort(), extraArgs: ['--admin-token-file', tokenFile] });
    const other = await browser.context.newPage();
    try {
      await other.goto(`http://127.0.0.1:${guarded.adminPort}/ui/`);
      await other.locator('#login').waitFor();
      expect(await other.locator('#login-message').textContent()).toContain('Bearer');
      expect(await other.locator('#main g.node').count()).toBe(0);
      await other.locator('#token').fill('ui-s3cret');
      await other.locator('#login button').click();
      await other.locator('#main g.node.route').first().waitFor();
      await expect.poll(() => other.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
    } finally {
      await other.close();
      await guarded.stop();
      rmSync(tokenFile, { force: true });
    }
  });
});
