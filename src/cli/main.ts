#!/usr/bin/env node
// meshplane CLI: `serve` runs the control plane; `explain` prints the core's
// view and why; `validate` gates CI; `identity` issues mesh certificates.
import { Command, InvalidArgumentError } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { explainPolicies } from '../core/explain.js';
import { computeCore } from '../core/index.js';
import { createLogger } from '../log.js';
import { logDiagnostics } from '../pipeline.js';
import { coreSettings } from '../settings.js';
import { clusterDirs, collect, scanClusterDirs } from './clusters.js';
import { explainTable, explainView } from './explain.js';
import { addExtAuthCommand } from './extauth.js';
import { fileLimitsOf, withCoreSettings, withFileLimits } from './flags.js';
import { addIdentityCommand } from './mesh.js';
import { addServeCommand } from './serve.js';
import { encodingFindings, formatFindings, validationFindings } from './validate.js';

const program = new Command('meshplane').description('Envoy xDS control plane with workspaces, delegation and label-attached policies');
addServeCommand(program);
addIdentityCommand(program);
addExtAuthCommand(program);

withCoreSettings(withFileLimits(program.command('explain')))
  .description('compute routes, destinations, policies and status for a directory once and print them, with the reason for every policy that does not apply')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests; repeat it with --cluster-name for one directory per cluster', collect)
  .option('--output <format>', 'json, yaml or table', 'json')
  .option('--route <table:route>', 'only routes with this link on their chain, e.g. apps/shop:checkout')
  .option('--policy <Kind/ns/name>', 'only what concerns this policy, e.g. RetryTimeoutPolicy/apps/retries')
  .option('--state-file <file>', 'first-seen times and last valid versions written by `serve` (read only here)')
  .action((opts) => {
    if (!['json', 'yaml', 'table'].includes(opts.output)) throw new InvalidArgumentError('--output must be json, yaml or table');
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const log = createLogger('warn');
    // explain never writes the state file: it only reads what `serve` recorded.
    const set = scanClusterDirs(dirs, opts.stateFile, fileLimitsOf(opts), (msg) => log.warn(msg));
    logDiagnostics(set, log);
    const core = computeCore(set.resources, settings, set.rejected);
    const out = explainView(core, explainPolicies(set.resources, settings, core), set.resources, { route: opts.route, policy: opts.policy });
    process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : opts.output === 'yaml' ? stringifyYaml(out) : explainTable(out, process.stdout.isTTY));
  });

withCoreSettings(withFileLimits(program.command('validate')))
  .description('run the whole pipeline once (core, translation, Envoy encoding) and report every INVALID and WARNING; exit 1 on INVALID, for CI')
  .requiredOption('--config-dir <dir>', 'directory of YAML manifests; repeat it with --cluster-name for one directory per cluster', collect)
  .option('--output <format>', 'text or json', 'text')
  .action((opts) => {
    if (!['text', 'json'].includes(opts.output)) throw new InvalidArgumentError('--output must be text or json');
    const dirs = clusterDirs(opts.configDir, opts.clusterName);
    const settings = coreSettings({ ...opts, clusterName: opts.clusterName?.[0] });
    const set = scanClusterDirs(dirs, undefined, fileLimitsOf(opts));
    const core = computeCore(set.resources, settings, set.rejected);
    const findings = validationFindings(core, set.resources, encodingFindings(core, { listenerAddress: '0.0.0.0' }));
    const invalid = findings.some((f) => f.state === 'INVALID');
    process.stdout.write(opts.output === 'json' ? JSON.stringify({ valid: !invalid, findings }, null, 2) + '\n' : formatFindings(findings, process.stdout.isTTY));
    process.exitCode = invalid ? 1 : 0;
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`meshplane: ${err.message}\n`);
  process.exit(2);
});
