// Envoy API protos, loaded with protobufjs reflection from the copy that
// @grpc/grpc-js-xds ships (see docs/encoding.md for why reflection).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const xdsPkg = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const here = dirname(fileURLToPath(import.meta.url));
const protobufDir = dirname(require.resolve('protobufjs/package.json'));

/** The repository's proto/ tree: two levels up from src/xds or dist/xds, further from a bundled benchmark. */
function ownProtoDir(): string {
  for (let d = here; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'proto', 'envoy'))) return join(d, 'proto');
  return resolve(here, '../../proto');
}

/** Include roots: our own protos first, then the vendored Envoy, xds, googleapis and validate trees. */
export const PROTO_INCLUDE_DIRS = [
  ownProtoDir(),
  join(xdsPkg, 'deps/envoy-api'),
  join(xdsPkg, 'deps/xds'),
  join(xdsPkg, 'deps/googleapis'),
  join(xdsPkg, 'deps/protoc-gen-validate'),
];

/** Every Envoy proto meshplane emits or reads. */
export const ENVOY_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/csrf/v3/csrf.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/header_to_metadata/v3/header_to_metadata.proto',
  'envoy/extensions/filters/http/lua/v3/lua.proto',
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  'envoy/extensions/filters/http/transform/v3/transform.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/config/accesslog/v3/accesslog.proto',
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  // mesh mode (sidecars)
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
];

let root: protobuf.Root | undefined;

export function envoyRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (target.startsWith('google/protobuf/')) {
      // protobufjs bundles the well-known types; descriptor.proto ships as a file beside it
      const bundled = join(protobufDir, target);
      return existsSync(bundled) ? bundled : target;
    }
    for (const dir of PROTO_INCLUDE_DIRS) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  r.loadSync(ENVOY_PROTO_FILES, { keepCase: false });
  r.resolveAll();
  root = r;
  return r;
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';
export const TYPES = {
  listener: 'envoy.config.listener.v3.Listener',
  route: 'envoy.config.route.v3.RouteConfiguration',
  cluster: 'envoy.config.cluster.v3.Cluster',
  endpoint: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;
export type ResourceType = keyof typeof TYPES;
const TYPE_URLS = Object.fromEntries(Object.entries(TYPES).map(([t, name]) => [t, TYPE_URL_PREFIX + name])) as Record<ResourceType, string>;
/** One string per type (it is stored on every encoded resource). */
export const typeUrl = (t: ResourceType): string => TYPE_URLS[t];

const typeCache = new Map<string, protobuf.Type>();
export function lookupType(name: string): protobuf.Type {
  let t = typeCache.get(name);
  if (!t) typeCache.set(name, (t = envoyRoot().lookupType(name)));
  return t;
}

/**
 * protobufjs fromObject silently drops fields it does not know (snake_case
 * keys, typos). This walks an object against its message type and throws on
 * the first unknown field, naming its path, so translator bugs surface in tests.
 */
export function assertKnownFields(type: protobuf.Type, obj: unknown, path = type.name): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return;
  const full = type.fullName.replace(/^\./, '');
  if (full === 'google.protobuf.Struct' || full === 'google.protobuf.Value' || full === 'google.protobuf.ListValue') return;
  if (full === 'google.protobuf.Any') {
    const t = (obj as Record<string, unknown>)['@type'];
    if (typeof t !== 'string') throw new Error(`${path}: Any without "@type"`);
    const inner = lookupType(t.slice(t.lastIndexOf('/') + 1));
    const { '@type': _t, ...rest } = obj as Record<string, unknown>;
    assertKnownFields(inner, rest, `${path}<${inner.name}>`);
    return;
  }
  if (full === 'google.protobuf.Duration' || full === 'google.protobuf.Timestamp') {
    for (const k of Object.keys(obj)) if (k !== 'seconds' && k !== 'nanos') throw new Error(`${path}: ${full} takes seconds/nanos, not "${k}"`);
    return;
  }
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field) throw new Error(`${path}.${key}: no such field in ${full}`);
    field.resolve();
    if (!(field.resolvedType instanceof protobuf.Type)) continue;
    const sub = field.resolvedType;
    if (field.map) for (const [k, v] of Object.entries(value as object)) assertKnownFields(sub, v, `${path}.${key}[${k}]`);
    else if (field.repeated && Array.isArray(value)) value.forEach((v, i) => assertKnownFields(sub, v, `${path}.${key}[${i}]`));
    else assertKnownFields(sub, value, `${path}.${key}`);
  }
}

/** Encodes a resource object (camelCase fields, Any as {"@type", ...}) to bytes. */
export function encodeResource(typeName: string, obj: Record<string, unknown>, strict = false): Uint8Array {
  const type = lookupType(typeName);
  if (strict) assertKnownFields(type, obj);
  return type.encode(type.fromObject(obj)).finish();
}
