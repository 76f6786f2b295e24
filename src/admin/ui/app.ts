// The /ui page: fetches /debug/explain and /debug/proxies, draws the chosen
// host's delegation tree, and refetches when /debug/events says the
// configuration or a proxy's ACK/NACK state changed.
import type { ProxyInfo } from '../../xds/stream.js';
import { destinationsView, esc, hostDetail, linkDetail, proxiesOf, proxyTable, routeDetail, statusView } from './details.js';
import { layoutTree, renderSvg, type Layout } from './graph.js';
import { delegationTree, findNode, hostGroups, SIDECARS, type HostGroup, type TreeNode } from './model.js';
import type { ResourceStatus } from '../../ir/types.js';
import type { DestinationsExplanation, ExplainPayload, RouteExplanation, UiEvent } from './payload.js';

type View = 'graph' | 'destinations' | 'proxies' | 'status';

const ui = {
  payload: undefined as ExplainPayload | undefined,
  proxies: [] as ProxyInfo[],
  groups: [] as HostGroup[],
  view: 'graph' as View,
  group: undefined as string | undefined,
  selected: undefined as string | undefined,
  tree: undefined as TreeNode | undefined,
  rendered: false,
};

const $ = (id: string) => document.getElementById(id)!;
const TOKEN = 'meshplane-admin-token';

function headers(): Record<string, string> {
  const t = sessionStorage.getItem(TOKEN);
  return t ? { authorization: `Bearer ${t}` } : {};
}

class Unauthorized extends Error {}

async function api<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: headers() });
  if (r.status === 401) throw new Unauthorized((await r.json().catch(() => ({}))).error ?? 'not authorized');
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json() as Promise<T>;
}

function showLogin(message: string): void {
  const box = $('login');
  box.hidden = false;
  $('login-message').textContent = message;
}

let loading: Promise<void> | undefined;
let again = false;
/** The newest configuration generation the events announced. */
let announced = 0;
/** Loads everything; a change during a load triggers one more. */
function load(): Promise<void> {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      const [payload, proxies] = await Promise.all([api<ExplainPayload | null>('/debug/explain'), api<ProxyInfo[]>('/debug/proxies')]);
      $('login').hidden = true;
      ui.proxies = proxies;
      if (payload) setPayload(payload);
      else $('generation').textContent = 'waiting for the first configuration';
    } catch (e) {
      if (e instanceof Unauthorized) showLogin((e as Error).message);
      else $('generation').textContent = `error: ${(e as Error).message}`;
    }
  })().finally(() => {
    loading = undefined;
    if (again || (ui.payload && announced > ui.payload.generation)) {
      again = false;
      void load();
    }
  });
  return loading;
}

async function loadProxies(): Promise<void> {
  ui.proxies = await api<ProxyInfo[]>('/debug/proxies').catch(() => ui.proxies);
  renderNav();
  if (ui.view === 'proxies') renderMain();
  else if (!ui.selected || ui.selected.startsWith('host:')) renderDetail();
}

/** Full explanations of the routes looked at, for the current payload. */
const details = new Map<string, RouteExplanation>();

function setPayload(p: ExplainPayload): void {
  ui.payload = p;
  details.clear();
  ui.groups = hostGroups(p);
  if (!ui.groups.some((g) => g.key === ui.group)) ui.group = ui.groups[0]?.key;
  $('generation').textContent = `generation ${p.generation} · ${p.routes.length} routes`;
  document.body.dataset.generation = String(p.generation);
  renderNav();
  renderMain();
  renderDetail();
}

function renderNav(): void {
  const byGateway = new Map<string, HostGroup[]>();
  for (const g of ui.groups) {
    const k = g.gateway ?? SIDECARS;
    const list = byGateway.get(k) ?? [];
    list.push(g);
    byGateway.set(k, list);
  }
  const parts: string[] = [];
  for (const [gw, groups] of byGateway) {
    const px = proxiesOf(ui.proxies, gw === SIDECARS ? null : gw);
    const nacks = px.filter((x) => Object.values(x.types).some((t) => t?.nack)).length;
    const state = px.length ? (nacks ? `<span class="bad">${nacks} of ${px.length} NACK</span>` : `<span class="good">${px.length} ${px.length === 1 ? 'proxy' : 'proxies'}</span>`) : '<span class="none">no proxy</span>';
    parts.push(`<div class="gateway"><div class="gw-name">${esc(gw)} ${state}</div>`);
    for (const g of groups) {
      const cls = ['host', ui.view === 'graph' && g.key === ui.group ? 'current' : ''].join(' ');
      parts.push(`<a href="#" class="${cls}" data-group="${esc(g.key)}">${esc(g.host)} <span class="n">${g.routes.length}</span>${g.invalid ? ` <span class="bad">${g.invalid} invalid</span>` : ''}</a>`);
    }
    parts.push('</div>');
  }
  $('hosts').innerHTML = parts.join('') || '<p class="none">no routes</p>';
  for (const v of ['destinations', 'proxies', 'status'] as const) $(`nav-${v}`).classList.toggle('current', ui.view === v);
}

let layout: Layout | undefined;

function renderMain(): void {
  const main = $('main');
  const p = ui.payload;
  if (!p) return;
  document.body.classList.toggle('wide', ui.view !== 'graph');
  if (ui.view !== 'graph') {
    const view = ui.view;
    const show = (html: string) => {
      if (ui.view === view) main.innerHTML = `<div class="page">${html}</div>`;
    };
    if (view === 'proxies') show(`<h2>Proxies</h2>${proxyTable(ui.proxies)}`);
    else if (view === 'destinations') api<DestinationsExplanation | null>('/debug/explain/destinations').then((d) => show(d ? destinationsView(d) : ''), (e: Error) => show(esc(e.message)));
    else api<Record<string, ResourceStatus>>('/debug/status').then((st) => show(statusView(st)), (e: Error) => show(esc(e.message)));
    return;
  }
  const g = ui.groups.find((x) => x.key === ui.group);
  if (!g) {
    main.innerHTML = '<p class="none page">no routes yet</p>';
    return;
  }
  ui.tree = delegationTree(g);
  if (!findNode(ui.tree, ui.selected)) ui.selected = ui.tree.key;
  layout = layoutTree(ui.tree);
  const heads = layout.lanes.map((l, i) => `<div class="lane-head" data-lane="${i}" title="go to this workspace's routes" style="left:${l.x}px;width:${l.width}px">${esc(l.workspace === 'gateway' ? `gateway ${g.gateway ?? 'sidecars'}` : l.workspace)}</div>`).join('');
  main.innerHTML = `<div class="lane-heads" style="width:${layout.width}px">${heads}</div><div id="tree"></div>`;
  drawn = undefined;
  drawVisible();
  if (!ui.rendered) {
    ui.rendered = true;
    // After the next paint: the first render is on screen.
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('meshplane:first-render')));
  }
}

/** The rows drawn now; redrawn when scrolling comes near their edge. */
let drawn: { top: number; bottom: number } | undefined;

function drawVisible(): void {
  const main = $('main');
  const tree = document.getElementById('tree');
  if (!layout || !tree) return;
  const view = main.clientHeight || 1000;
  const top = main.scrollTop;
  if (drawn && top - view / 2 >= drawn.top && top + view * 1.5 <= drawn.bottom) return;
  drawn = { top: Math.max(0, top - view), bottom: top + 2 * view };
  tree.innerHTML = renderSvg(layout, ui.selected, drawn);
}

function renderDetail(): void {
  const p = ui.payload;
  const d = $('detail');
  if (!p || ui.view !== 'graph' || !ui.tree) {
    d.innerHTML = '';
    return;
  }
  const n = findNode(ui.tree, ui.selected) ?? ui.tree;
  const g = ui.groups.find((x) => x.key === ui.group)!;
  const show = (html: string, state = 'ready') => {
    d.innerHTML = html;
    d.dataset.key = n.key;
    d.dataset.state = state;
  };
  if (n.kind !== 'route' || !n.route) return show(n.kind === 'link' ? linkDetail(n) : hostDetail(p, g, ui.proxies));
  const id = n.route.id;
  const known = details.get(id);
  if (known) return show(routeDetail(known));
  if (d.dataset.key !== n.key) show(`<h2>${esc(n.label)}</h2><p class="none">loading…</p>`, 'loading'); // else keep the last version until the new one is here
  api<RouteExplanation>(`/debug/explain/route/${encodeURIComponent(id)}`).then(
    (e) => {
      if (ui.payload?.generation === p.generation) details.set(id, e);
      if (ui.selected === n.key || (!ui.selected && n === ui.tree)) show(routeDetail(e));
    },
    (e: Error) => {
      if (ui.selected === n.key) show(`<h2>${esc(n.label)}</h2><p class="errors">${esc(e.message)}</p>`, 'error');
    },
  );
}

function select(key: string): void {
  ui.selected = key;
  for (const el of document.querySelectorAll('#main g.node.selected')) el.classList.remove('selected');
  document.querySelector(`#main g.node[data-key="${CSS.escape(key)}"]`)?.classList.add('selected');
  renderDetail();
}

/** Scrolls to the first node of a lane: with many workspaces the tree runs down and to the right. */
function jumpToLane(l: Layout, i: number): void {
  const lane = l.lanes[i];
  const first = l.nodes.filter((n) => n.x >= lane.x && n.x < lane.x + lane.width).sort((a, b) => a.y - b.y)[0];
  if (first) $('main').scrollTo({ left: Math.max(0, lane.x - 40), top: Math.max(0, first.y - 40) });
}

/** Server-Sent Events over fetch, so the bearer token can go in a header; reconnects. */
async function listen(): Promise<void> {
  for (;;) {
    try {
      const r = await fetch('/debug/events', { headers: headers() });
      if (r.status === 401 || !r.body) throw new Unauthorized('not authorized');
      setLive(true);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
          buf = buf.slice(i + 2);
          if (data) onEvent(JSON.parse(data.slice(6)) as UiEvent);
        }
      }
    } catch (e) {
      if (e instanceof Unauthorized) await new Promise((r) => setTimeout(r, 2000)); // until a token is given
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function onEvent(e: UiEvent): void {
  if (e.type === 'config') {
    announced = Math.max(announced, e.generation);
    // A load under way fetches this generation or a newer one; it checks `announced` when it ends.
    if (!loading && e.generation !== ui.payload?.generation) void load();
  }
  if (e.type === 'proxies') void loadProxies();
}

function setLive(on: boolean): void {
  const el = $('live');
  el.textContent = on ? 'live' : 'reconnecting';
  el.className = on ? 'live on' : 'live';
}

function wire(): void {
  $('hosts').addEventListener('click', (ev) => {
    const a = (ev.target as Element).closest('[data-group]');
    if (!a) return;
    ev.preventDefault();
    ui.view = 'graph';
    ui.group = a.getAttribute('data-group')!;
    ui.selected = undefined;
    renderNav();
    renderMain();
    renderDetail();
  });
  for (const v of ['destinations', 'proxies', 'status'] as const) {
    $(`nav-${v}`).addEventListener('click', (ev) => {
      ev.preventDefault();
      ui.view = v;
      renderNav();
      renderMain();
      renderDetail();
    });
  }
  const onKey = (ev: Event) => {
    const head = (ev.target as Element).closest('[data-lane]');
    if (head && layout) return jumpToLane(layout, Number(head.getAttribute('data-lane')));
    const el = (ev.target as Element).closest('[data-key]');
    if (!el) return;
    ev.preventDefault();
    select(el.getAttribute('data-key')!);
  };
  $('main').addEventListener('click', onKey);
  let pending = false;
  $('main').addEventListener('scroll', () => {
    if (pending || ui.view !== 'graph') return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      drawVisible();
    });
  });
  $('detail').addEventListener('click', onKey);
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN, ($('token') as HTMLInputElement).value.trim());
    void load();
  });
}

wire();
void load();
void listen();
