// The IR of ExtAuthPolicy glooAuth: Gloo's built-in auth steps with their
// Secrets and ConfigMaps resolved. meshplane's ext-auth server evaluates them
// (src/extauth); key material stays in SecretMaterial, so explain and
// /debug/ir show "[redacted]".
import type { SecretMaterial } from './types.js';

/** The ext_authz context extension naming the policy whose glooAuth config decides (src/extauth). */
export const EXT_AUTH_CONFIG_KEY = 'meshplane.ext_auth_config';

export interface ApiKeyIR {
  /** The Secret it comes from (Secret/ns/name[@cluster]). */
  source: string;
  key: SecretMaterial;
  /** The Secret's other entries, by name (Gloo's key metadata). */
  metadata: Record<string, SecretMaterial>;
}

export interface ApiKeyStepIR {
  kind: 'apiKey';
  name?: string;
  headerName: string;
  keys: ApiKeyIR[];
  /** Request headers set from a key's metadata entries; a required entry that is missing denies. */
  headersFromMetadata: Array<{ header: string; entry: string; required: boolean }>;
}

export interface OpaStepIR {
  kind: 'opa';
  name?: string;
  query: string;
  /** Rego modules, one per ConfigMap data entry, named ConfigMap/ns/name/<entry>. */
  modules: Array<{ name: string; rego: string }>;
}

export interface ClaimHeaderIR { claim: string; header: string; append: boolean }

export interface OidcStepIR {
  kind: 'oidc';
  name?: string;
  appUrl: string;
  callbackPath: string;
  logoutPath?: string;
  afterLogoutUrl?: string;
  issuerUrl: string;
  clientId: string;
  clientSecret?: SecretMaterial;
  scopes: string[];
  authEndpointQueryParams: Record<string, string>;
  tokenEndpointQueryParams: Record<string, string>;
  session: {
    /** Where tokens live: in cookies (Gloo's default) or in Redis behind a session-id cookie. */
    store: 'cookie' | 'redis';
    cookieName: string;
    keyPrefix: string;
    redis?: { host: string; db: number };
    failOnFetchFailure: boolean;
    cookie: { maxAge?: number; secure: boolean; httpOnly: boolean; path: string; domain?: string; sameSite?: 'Lax' | 'Strict' | 'None' };
  };
  idTokenHeader?: string;
  accessTokenHeader?: string;
  useBearerSchemaForAuthorization: boolean;
  idTokenClaimsToHeaders: ClaimHeaderIR[];
  accessTokenClaimsToHeaders: ClaimHeaderIR[];
}

export interface PassThroughStepIR {
  kind: 'passThroughGrpc';
  name?: string;
  address: string;
  timeoutMs: number;
  config?: Record<string, unknown>;
  failureModeAllow: boolean;
}

export type AuthStepIR = ApiKeyStepIR | OpaStepIR | OidcStepIR | PassThroughStepIR;

export interface GlooAuthIR {
  steps: AuthStepIR[];
  failOnRedirect: boolean;
  /** Referenced Secrets/ConfigMaps that do not exist yet: the server answers 503 until they do. */
  waitingFor: string[];
}
