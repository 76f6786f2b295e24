// `meshplane ext-auth`: the gRPC ext-auth server (envoy.service.auth.v3.Authorization)
// that decides ExtAuthPolicy glooAuth steps. It reads the config file
// `meshplane serve --ext-auth-config-file` writes and reloads it on change;
// point an ExtAuthServer's destinationServer at it.
import type { Command } from 'commander';
import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { parseExtAuthFile } from '../extauth/config-file.js';
import { Engine, type StepFactory } from '../extauth/engine.js';
import { stepFactory } from '../extauth/steps.js';
import { startExtAuthServer, type ExtAuthServer } from '../extauth/server.js';
import { port } from './flags.js';

export interface ExtAuthOptions {
  configFile: string;
  address: string;
  port: number;
  reloadIntervalMs: number;
}

export interface RunningExtAuth {
  server: ExtAuthServer;
  engine: Engine;
  stop(): Promise<void>;
}

/** Starts the server and keeps its config in step with the file; also used by tests. */
export async function runExtAuth(opts: ExtAuthOptions, factory: StepFactory, log: Logger, onStop: Array<() => Promise<void> | void> = []): Promise<RunningExtAuth> {
  const file = resolve(opts.configFile);
  const engine = new Engine(factory, log);
  let last = '';
  let loading = Promise.resolve();
  const reload = () => {
    loading = loading.then(async () => {
      if (!existsSync(file)) {
        if (!engine.ready) log.warn({ file }, 'ext-auth config file does not exist yet: every check answers 503 until meshplane serve writes it');
        return;
      }
      const text = readFileSync(file, 'utf8');
      if (text === last) return;
      try {
        await engine.load(parseExtAuthFile(text, file));
        last = text;
      } catch (err) {
        // Keep serving the last good version.
        log.error({ file, err: (err as Error).message }, 'ext-auth config not loaded');
      }
    });
    return loading;
  };
  await reload();
  // Polling stat: survives the atomic rename meshplane writes with, and files on any filesystem.
  watchFile(file, { interval: opts.reloadIntervalMs }, () => void reload());
  const server = await startExtAuthServer(engine, opts.address, opts.port, log);
  log.info({ address: opts.address, port: server.port, configFile: file }, 'meshplane ext-auth is serving');
  return {
    server,
    engine,
    stop: async () => {
      unwatchFile(file);
      await server.close();
      for (const f of onStop) await f();
    },
  };
}

export function addExtAuthCommand(program: Command): void {
  program
    .command('ext-auth')
    .description("serve Envoy's ext_authz gRPC API for ExtAuthPolicy glooAuth (apiKeyAuth, opaAuth, oauth2 OIDC), from the file `serve --ext-auth-config-file` writes")
    .requiredOption('--config-file <file>', 'the ext-auth config file meshplane serve writes (--ext-auth-config-file)')
    .option('--address <addr>', 'address for the gRPC server', '0.0.0.0')
    .option('--port <port>', 'port for the gRPC server', port, 8083)
    .option('--opa-bin <file>', 'the Rego evaluator for opaAuth (tools/opa, built by scripts/build-opa.sh)', process.env.MESHPLANE_OPA_BIN)
    .option('--session-secret-file <file>', 'secret (16+ characters) sealing OIDC login state; give replicas the same file (default: random per process)')
    .option('--reload-interval-ms <ms>', 'how often the config file is checked for changes', (v) => Number(v), 500)
    .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.LOG_LEVEL ?? 'info')
    .action(async (opts) => {
      const log = createLogger(opts.logLevel);
      const steps = stepFactory(opts, log);
      const running = await runExtAuth(opts, steps.factory, log, [steps.close]);
      const shutdown = async (signal: string) => {
        log.info({ signal }, 'shutting down');
        await running.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
