// Settings shared by every command that computes config.
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

export function coreSettings(opts: { clusterName?: string; featureGates?: string }): CoreSettings {
  return { clusterName: opts.clusterName ?? DEFAULT_SETTINGS.clusterName, featureGates: parseFeatureGates(opts.featureGates) };
}
