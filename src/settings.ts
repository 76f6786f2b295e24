// Settings shared by every command that computes config.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_SETTINGS, type CoreSettings, type FeatureGates, type RouteLimits } from './core/index.js';

const GATES: Array<keyof FeatureGates> = ['VirtualDestinationWorkspacePolicyOverride', 'gatewayDefaultDenyAllHTTPRequests'];

/** Parses "--feature-gates Name=true,Other=false". Unknown names are an error. */
export function parseFeatureGates(text: string | undefined): FeatureGates {
  const gates: FeatureGates = { ...DEFAULT_SETTINGS.featureGates };
  if (!text) return gates;
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value = 'true'] = part.split('=');
    if (!GATES.includes(name as keyof FeatureGates)) {
      throw new Error(`unknown feature gate "${name}"; known gates: ${GATES.join(', ')}`);
    }
    if (value !== 'true' && value !== 'false') throw new Error(`feature gate ${name} takes true or false, got "${value}"`);
    gates[name as keyof FeatureGates] = value === 'true';
  }
  return gates;
}

/**
 * Settings from flags, over an optional settings file:
 *   clusterName: cluster-1
 *   featureGates: {gatewayDefaultDenyAllHTTPRequests: true}
 * Flags win over the file.
 */
export function coreSettings(opts: { clusterName?: string; featureGates?: string; settings?: string; maxRoutesPerTable?: number; maxRoutesPerGateway?: number }): CoreSettings {
  let file: { clusterName?: unknown; featureGates?: unknown; limits?: unknown } = {};
  if (opts.settings) {
    const parsed = parse(readFileSync(opts.settings, 'utf8')) ?? {};
    const unknown = Object.keys(parsed).filter((k) => !['clusterName', 'featureGates', 'limits'].includes(k));
    if (unknown.length) throw new Error(`${opts.settings}: unknown field(s) ${unknown.join(', ')}; expected clusterName, featureGates, limits`);
    file = parsed;
  }
  const limits = { ...parseLimits(file.limits, opts.settings ?? 'settings') };
  if (opts.maxRoutesPerTable !== undefined) limits.maxRoutesPerRootTable = opts.maxRoutesPerTable;
  if (opts.maxRoutesPerGateway !== undefined) limits.maxRoutesPerGateway = opts.maxRoutesPerGateway;
  const fileGates =
    file.featureGates && typeof file.featureGates === 'object'
      ? Object.entries(file.featureGates as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(',')
      : undefined;
  const gates = parseFeatureGates([fileGates, opts.featureGates].filter(Boolean).join(','));
  const clusterName = opts.clusterName ?? (typeof file.clusterName === 'string' ? file.clusterName : DEFAULT_SETTINGS.clusterName);
  return { clusterName, featureGates: gates, ...(Object.keys(limits).length ? { limits } : {}) };
}

const LIMIT_NAMES: Array<keyof RouteLimits> = ['maxRoutesPerRootTable', 'maxRoutesPerGateway'];

/** `limits: {maxRoutesPerRootTable: 50000, maxRoutesPerGateway: 100000}` in the settings file. */
function parseLimits(raw: unknown, file: string): Partial<RouteLimits> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: limits must be a mapping of ${LIMIT_NAMES.join(', ')}`);
  const out: Partial<RouteLimits> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!LIMIT_NAMES.includes(k as keyof RouteLimits)) throw new Error(`${file}: unknown limit "${k}"; known limits: ${LIMIT_NAMES.join(', ')}`);
    out[k as keyof RouteLimits] = positiveInt(v, `${file}: limits.${k}`);
  }
  return out;
}

export function positiveInt(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}
