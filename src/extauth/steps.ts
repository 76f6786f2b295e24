// The evaluators of the step kinds that need helpers: OPA (a child process),
// OIDC (discovery, sessions, Redis) and pass-through gRPC clients; released
// when a file version no longer uses them.
import type { Logger } from 'pino';
import type { StepFactory } from './engine.js';
import { OidcStep } from './oidc.js';
import { OpaEvaluator, opaStep } from './opa.js';
import { passThroughStep } from './pass-through.js';
import { RedisSessions } from './redis-sessions.js';
import { SessionKeys } from './session-keys.js';

/** The step kinds that need helpers: OPA (a child process) and OIDC. */
export function stepFactory(opts: { opaBin?: string; sessionSecretFile?: string }, log: Logger): { factory: StepFactory; close(): void } {
  const opa = opts.opaBin ? new OpaEvaluator(opts.opaBin, log) : undefined;
  const keys = SessionKeys.fromFile(opts.sessionSecretFile);
  if (!opts.sessionSecretFile) log.info('no --session-secret-file: OIDC login state is sealed with a random key of this process (replicas need a shared file)');
  const redis = new RedisSessions(log);
  let used = new Set<string>();
  // Pass-through clients of the previous file version, closed once the next one is in place.
  let clients: Array<{ close(): void }> = [];
  let nextClients: Array<{ close(): void }> = [];
  const factory: StepFactory = {
    opa: async (policy, i, step) => {
      if (!opa) throw new Error('opaAuth needs the Rego evaluator: start meshplane ext-auth with --opa-bin (scripts/build-opa.sh builds it) or set MESHPLANE_OPA_BIN');
      return opaStep(opa, policy, i, step, used);
    },
    oidc: async (_policy, _i, step) => new OidcStep(step, { keys, log, redis: (host, db) => redis.store(host, db) }),
    passThroughGrpc: async (_policy, _i, step) => {
      const s = passThroughStep(step);
      nextClients.push(s);
      return s;
    },
    loaded: async () => {
      await opa?.retainOnly(used);
      used = new Set();
      for (const c of clients) c.close();
      [clients, nextClients] = [nextClients, []];
    },
  };
  return {
    factory,
    close: () => {
      opa?.close();
      redis.close();
      for (const c of clients) c.close();
    },
  };
}
