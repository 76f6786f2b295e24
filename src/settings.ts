// Settings shared by every command that computes config.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_SETTINGS, type CoreSettings, type FeatureGates } from './core/index.js';

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
export function coreSettings(opts: { clusterName?: string; featureGates?: string; settings?: string }): CoreSettings {
  let file: { clusterName?: unknown; featureGates?: unknown } = {};
  if (opts.settings) {
    const parsed = parse(readFileSync(opts.settings, 'utf8')) ?? {};
    const unknown = Object.keys(parsed).filter((k) => k !== 'clusterName' && k !== 'featureGates');
    if (unknown.length) throw new Error(`${opts.settings}: unknown field(s) ${unknown.join(', ')}; expected clusterName, featureGates`);
    file = parsed;
  }
  const fileGates =
    file.featureGates && typeof file.featureGates === 'object'
      ? Object.entries(file.featureGates as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(',')
      : undefined;
  const gates = parseFeatureGates([fileGates, opts.featureGates].filter(Boolean).join(','));
  const clusterName = opts.clusterName ?? (typeof file.clusterName === 'string' ? file.clusterName : DEFAULT_SETTINGS.clusterName);
  return { clusterName, featureGates: gates };
}
