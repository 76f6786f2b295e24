// What one auth step sees of a request and what it decides. Steps run in
// order; the first that denies answers, else the request goes on with every
// header the steps added.
export interface AuthRequest {
  method: string;
  /** Path with query, as Envoy sends it. */
  path: string;
  host: string;
  scheme: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The CheckRequest as protobuf JSON, for OPA's input.check_request. */
  checkRequest: Record<string, unknown>;
  /** What earlier steps learnt (Gloo's state): the id token of an OIDC login for OPA's input.state.jwt. */
  state: Record<string, unknown>;
}

export interface HeaderToAdd {
  key: string;
  value: string;
  append?: boolean;
}

export type Decision =
  | { allow: true; headers: HeaderToAdd[]; removeHeaders?: string[] }
  | {
      allow: false;
      /** HTTP status Envoy answers with: 401, 403, 302 (login redirect), 503 (config not ready). */
      status: number;
      headers?: HeaderToAdd[];
      body?: string;
      /** For the server's log; never carries key material. */
      reason: string;
    };

export const allow = (headers: HeaderToAdd[] = [], removeHeaders?: string[]): Decision => ({ allow: true, headers, ...(removeHeaders?.length ? { removeHeaders } : {}) });
export const deny = (status: number, reason: string, extra: { headers?: HeaderToAdd[]; body?: string } = {}): Decision => ({ allow: false, status, reason, ...extra });
