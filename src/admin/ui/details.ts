// HTML for the side panel (a selected route, delegating link or host) and for
// the destinations, proxies and status views. Every value is escaped.
import type { PolicyRef, ProxyRollout, ResourceStatus, SkippedPolicy } from '../../ir/types.js';
import type { ProxyInfo } from '../../xds/stream.js';
import { linkLabel, type HostGroup, type TreeNode } from './model.js';
import type { DestinationsExplanation, ExplainPayload, RouteExplanation, UiDestination, UiRoute } from './payload.js';

export const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ref = (p: PolicyRef) => `<span class="policy">${esc(p.kind)} <b>${esc(p.namespace)}/${esc(p.name)}</b></span> <span class="ws">${esc(p.workspace)}</span>`;
const list = (items: string[], empty = '<span class="none">none</span>') => (items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : empty);

export function skippedItem(s: SkippedPolicy): string {
  const extra: string[] = [];
  if (s.winner) extra.push(`winner: ${ref(s.winner)}`);
  if (s.phase) extra.push(`phase: ${esc(s.phase)}`);
  if (s.labels?.length) {
    extra.push(
      `<table class="labels"><tr><th>label</th><th>wanted</th><th>route has</th><th>set by</th></tr>${s.labels
        .map((l) => `<tr><td>${esc(l.key)}</td><td>${esc(l.want)}</td><td>${l.have === undefined ? '<i>none</i>' : esc(l.have)}</td><td>${esc(l.setBy ?? '')}</td></tr>`)
        .join('')}</table>`,
    );
  }
  if (s.missing?.length) extra.push(`missing: ${s.missing.map(esc).join('; ')}`);
  return `<div class="skip" data-reason="${esc(s.reason)}">${ref(s)} <span class="reason reason-${esc(s.reason)}">${esc(s.reason)}</span><p class="message">${esc(s.message)}</p>${extra.map((e) => `<div class="extra">${e}</div>`).join('')}</div>`;
}

function destinationBlock(d: UiDestination): string {
  return `<div class="dest"><div><b>${esc(d.kind)} ${esc(d.namespace)}/${esc(d.name)}</b> <span class="ws">owner ${esc(d.owner)}, used from ${esc(d.consumer)}</span></div>
  <div class="side">client-side: ${list(d.clientPolicies.map(ref))}</div><div class="side">server-side: ${list(d.serverPolicies.map(ref))}</div>
  ${d.skipped.length ? `<div class="side">skipped: ${d.skipped.map(skippedItem).join('')}</div>` : ''}</div>`;
}

function action(r: UiRoute): string {
  const a = r.action;
  if (a.type === 'forward') return `forward to ${a.destinations.map((d) => esc(d.kind ? `${d.namespace}/${d.name}:${d.port}` : d.cluster) + (a.destinations.length > 1 ? ` (${d.weight})` : '')).join(', ') || 'nothing'}`;
  if (a.type === 'directResponse') return `direct response ${a.status}`;
  return `redirect${a.httpsRedirect ? ' to https' : ''}${a.hostRedirect ? ` host ${esc(a.hostRedirect)}` : ''}${a.pathRedirect ? ` path ${esc(a.pathRedirect)}` : ''}`;
}

export function routeDetail(e: RouteExplanation): string {
  const r = e.route;
  const labels = Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return `<h2>${esc(linkLabel(r))}</h2>
  <p class="meta">workspace <span class="ws">${esc(r.workspace)}</span> · gateway ${esc(r.gateway ?? 'sidecars')} · ${r.hosts.map(esc).join(', ')}</p>
  ${r.valid ? '' : `<div class="errors">${r.errors.map((e) => `<p>${esc(e)}</p>`).join('')}</div>`}
  ${r.denied ? `<p class="denied">${esc(r.denied)}</p>` : ''}
  <h3>Delegation chain</h3><ol class="chain">${r.path.map((l) => `<li>${esc(linkLabel(l))} <span class="ws">${esc(l.workspace ?? '')}</span></li>`).join('')}</ol>
  <h3>Action</h3><p>${action(r)}</p>
  <h3>Effective labels</h3>${labels.length ? `<table class="labels"><tr><th>label</th><th>value</th><th>set by</th></tr>${labels.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td><td>${esc(r.labelSources[k] ?? '')}</td></tr>`).join('')}</table>` : '<p class="none">none</p>'}
  <h3>Applied policies (${r.applied.length})</h3><div class="applied">${list(r.applied.map(ref))}</div>
  <h3>Skipped policies (${r.skipped.length})</h3><div class="skipped">${r.skipped.length ? r.skipped.map(skippedItem).join('') : '<p class="none">none</p>'}</div>
  <h3>Destinations</h3>${e.destinations.map(destinationBlock).join('') || '<p class="none">none</p>'}
  ${e.proxies && Object.keys(e.proxies).length ? `<h3>Proxies running the current version</h3>${rolloutTable(e.proxies)}` : ''}`;
}

/** Per resource: how many of the proxies built from it ACKed its current version, and who rejected it. */
function rolloutTable(proxies: Record<string, ProxyRollout>): string {
  const rows = Object.entries(proxies).map(([k, p]) => {
    const why = [...(p.rejections ?? []).map((r) => `<p class="message">${esc(r.proxy)}: ${esc(r.message)}</p>`), ...(p.pending?.length ? [`<p class="message">waiting for ${p.pending.map(esc).join(', ')}</p>`] : [])];
    return `<tr data-resource="${esc(k)}"><td>${esc(k)}</td><td class="${p.acked === p.connected ? 'ack' : p.rejecting ? 'nack' : 'pending'}">${p.acked}/${p.connected}</td><td>${why.join('')}</td></tr>`;
  });
  return `<table class="rollout"><tr><th>resource</th><th>ACKed</th><th></th></tr>${rows.join('')}</table>`;
}

export function linkDetail(n: TreeNode): string {
  return `<h2>${esc(n.label)}</h2><p class="meta">workspace <span class="ws">${esc(n.workspace)}</span> · delegates to ${n.leaves} route${n.leaves === 1 ? '' : 's'}</p>
  <h3>Delegated to</h3>${list(n.children.map((c) => `<a href="#" data-key="${esc(c.key)}">${esc(c.label)}</a> <span class="ws">${esc(c.workspace)}</span>`))}`;
}

export function proxiesOf(proxies: ProxyInfo[], gateway: string | null): ProxyInfo[] {
  return proxies.filter((x) => (gateway ? x.key === `gateway:${gateway}` : !x.key.startsWith('gateway:')));
}

export function hostDetail(p: ExplainPayload, g: HostGroup, proxies: ProxyInfo[]): string {
  const gw = p.gateways.find((x) => x.ref === g.gateway);
  return `<h2>${esc(g.host)}</h2><p class="meta">gateway ${esc(g.gateway ?? 'sidecars')}${gw ? ` · workspace <span class="ws">${esc(gw.workspace)}</span> · ports ${gw.listeners.map((l) => l.port).join(', ')}` : ''}</p>
  <p>${g.routes.length} route${g.routes.length === 1 ? '' : 's'}, ${g.invalid} invalid, ${g.skipped} skipped polic${g.skipped === 1 ? 'y' : 'ies'}. Click a route to see why each policy applies or not.</p>
  <h3>Proxies</h3>${proxyTable(proxiesOf(proxies, g.gateway))}`;
}

/** ACK state of one resource type on one proxy. */
function ackCell(t: NonNullable<ProxyInfo['types'][keyof ProxyInfo['types']]>): string {
  if (t.nack) return `<td class="nack" title="${esc(t.nack.message)}">NACK ${esc(t.nack.version.slice(0, 8))}<div class="message">${esc(t.nack.message)}</div>${t.nack.names.length ? `<div class="names">${t.nack.names.map(esc).join(', ')}</div>` : ''}</td>`;
  if (t.sent && t.sent === t.acked) return `<td class="ack">ACK ${esc(t.sent.slice(0, 8))}</td>`;
  if (t.sent) return `<td class="pending">sent ${esc(t.sent.slice(0, 8))}${t.acked ? `, ACKed ${esc(t.acked.slice(0, 8))}` : ''}</td>`;
  return '<td class="none">-</td>';
}

const TYPES = ['listener', 'route', 'cluster', 'endpoint', 'secret'] as const;

export function proxyTable(proxies: ProxyInfo[]): string {
  if (!proxies.length) return '<p class="none">no proxy connected</p>';
  return `<table class="proxies"><tr><th>node</th><th>config</th><th>protocol</th>${TYPES.map((t) => `<th>${t}</th>`).join('')}</tr>${proxies
    .map((x) => `<tr data-node="${esc(x.nodeId)}"><td>${esc(x.nodeId)}</td><td>${esc(x.key)}</td><td>${esc(x.protocol)}</td>${TYPES.map((t) => ackCell(x.types[t] ?? {})).join('')}</tr>`)
    .join('')}</table>`;
}

export function destinationsView(d: DestinationsExplanation): string {
  return `<h2>Destinations</h2><p class="meta">Client-side policies come from the consuming workspace, server-side from the owner of a Service (semantics §6). One entry per workspace that uses the destination.</p>${d.destinations.map(destinationBlock).join('') || '<p class="none">no destinations</p>'}`;
}

export function statusView(status: Record<string, ResourceStatus>): string {
  const bad = Object.entries(status).filter(([, s]) => s.state !== 'ACCEPTED');
  return `<h2>Status</h2><p class="meta">${Object.keys(status).length} resources, ${bad.length} not accepted</p>${list(
    bad.map(([k, s]) => `<span class="state state-${esc(s.state)}">${esc(s.state)}</span> <b>${esc(k)}</b>${s.messages.map((m) => `<p class="message">${esc(m)}</p>`).join('')}`),
    '<p class="none">every resource is accepted</p>',
  )}`;
}
