// Options shared by several commands, so each is declared (and parsed) once.
import { InvalidArgumentError, type Command } from 'commander';
import { positiveInt } from '../settings.js';
import { DEFAULT_FILE_LIMITS, LIMIT_FLAGS, type FileLimits } from '../sources/file.js';
import { collect } from './clusters.js';

export const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const limitFlag = (flag: string) => (v: string) => {
  try {
    return positiveInt(v, flag);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** The file source's limits (docs/operations.md, "Limits"). */
export const withFileLimits = (cmd: Command): Command =>
  cmd
    .option(`${LIMIT_FLAGS.maxFileBytes} <bytes>`, 'larger manifest files are not read', Number, DEFAULT_FILE_LIMITS.maxFileBytes)
    .option(`${LIMIT_FLAGS.maxDepth} <levels>`, 'deepest nesting of YAML mappings and sequences', Number, DEFAULT_FILE_LIMITS.maxDepth)
    .option(`${LIMIT_FLAGS.maxAliasNodes} <nodes>`, 'nodes YAML aliases may add to one file when expanded', Number, DEFAULT_FILE_LIMITS.maxAliasNodes)
    .option(`${LIMIT_FLAGS.maxDocumentNodes} <nodes>`, 'nodes in one YAML document', Number, DEFAULT_FILE_LIMITS.maxDocumentNodes);

export const fileLimitsOf = (opts: Record<string, number>): { limits: FileLimits } => ({
  limits: { maxFileBytes: opts.maxFileBytes, maxDepth: opts.maxYamlDepth, maxAliasNodes: opts.maxYamlAliasNodes, maxDocumentNodes: opts.maxYamlDocumentNodes },
});

/** The core's settings: cluster names, feature gates, route limits, the settings file. */
export const withCoreSettings = (cmd: Command): Command =>
  cmd
    .option('--cluster-name <name>', 'name of the cluster of each --config-dir, in order, matched by workloadClusters[].name (default cluster-1)', collect)
    .option('--feature-gates <list>', 'e.g. gatewayDefaultDenyAllHTTPRequests=true,VirtualDestinationWorkspacePolicyOverride=true')
    .option('--settings <file>', 'YAML with clusterName, featureGates and limits (flags win)')
    .option('--max-routes-per-table <n>', 'Envoy routes one root table may expand to (default 50000)', limitFlag('--max-routes-per-table'))
    .option('--max-routes-per-gateway <n>', 'Envoy routes one gateway may carry (default 100000)', limitFlag('--max-routes-per-gateway'));
