import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coreSettings, parseFeatureGates } from '../../src/settings.js';

describe('settings', () => {
  it('parses --feature-gates and rejects unknown gates with the known ones listed', () => {
    expect(parseFeatureGates('gatewayDefaultDenyAllHTTPRequests=true,VirtualDestinationWorkspacePolicyOverride')).toEqual({ gatewayDefaultDenyAllHTTPRequests: true, VirtualDestinationWorkspacePolicyOverride: true });
    expect(() => parseFeatureGates('NoSuchGate=true')).toThrow(/unknown feature gate "NoSuchGate"; known gates: VirtualDestinationWorkspacePolicyOverride/);
    expect(() => parseFeatureGates('gatewayDefaultDenyAllHTTPRequests=yes')).toThrow(/takes true or false/);
  });

  it('reads a settings file; flags win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-settings-'));
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, 'clusterName: east\nfeatureGates:\n  gatewayDefaultDenyAllHTTPRequests: true\n  VirtualDestinationWorkspacePolicyOverride: true\n');
    expect(coreSettings({ settings: file })).toEqual({ clusterName: 'east', featureGates: { gatewayDefaultDenyAllHTTPRequests: true, VirtualDestinationWorkspacePolicyOverride: true } });
    expect(coreSettings({ settings: file, clusterName: 'west', featureGates: 'gatewayDefaultDenyAllHTTPRequests=false' }).featureGates.gatewayDefaultDenyAllHTTPRequests).toBe(false);
    writeFileSync(file, 'clusterNmae: x\n');
    expect(() => coreSettings({ settings: file })).toThrow(/unknown field\(s\) clusterNmae/);
  });
});

describe('limits', () => {
  it('reads limits from the settings file; flags win; bad values are refused with the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-settings-'));
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, 'limits:\n  maxRoutesPerRootTable: 1000\n  maxRoutesPerGateway: 2000\n');
    expect(coreSettings({ settings: file }).limits).toEqual({ maxRoutesPerRootTable: 1000, maxRoutesPerGateway: 2000 });
    expect(coreSettings({ settings: file, maxRoutesPerGateway: 5 }).limits).toEqual({ maxRoutesPerRootTable: 1000, maxRoutesPerGateway: 5 });
    writeFileSync(file, 'limits:\n  maxRoutesPerTable: 1\n');
    expect(() => coreSettings({ settings: file })).toThrow(/unknown limit "maxRoutesPerTable"; known limits: maxRoutesPerRootTable, maxRoutesPerGateway/);
    writeFileSync(file, 'limits:\n  maxRoutesPerGateway: -3\n');
    expect(() => coreSettings({ settings: file })).toThrow(/limits.maxRoutesPerGateway must be a positive whole number, got -3/);
    expect(coreSettings({}).limits).toBeUndefined();
  });
});
