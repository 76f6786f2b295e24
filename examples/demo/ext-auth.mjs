// The demo's ext-auth service: an Envoy ext_authz gRPC server
// (envoy.service.auth.v3.Authorization/Check) that accepts requests carrying a
// known `api-key` header and answers 401 to the rest. meshplane points Envoy at
// it through an ExtAuthPolicy (customAuth) and its ExtAuthServer.
// Runs in the meshplane image, with its @grpc/grpc-js and Envoy's protos.
import { createRequire } from 'node:module';

const require = createRequire('/app/package.json');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const deps = require.resolve('@grpc/grpc-js-xds/package.json').replace(/package\.json$/, 'deps/');
const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
  includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => deps + d),
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
});
const { Authorization } = grpc.loadPackageDefinition(definition).envoy.service.auth.v3;

// API_KEYS="key=user,key2=user2": the keys this service accepts and whom they name.
const keys = new Map((process.env.API_KEYS ?? 'demo-key=demo-user').split(',').map((kv) => kv.split('=')));
const port = Number(process.env.PORT ?? 9001);

const server = new grpc.Server();
server.addService(Authorization.service, {
  Check(call, callback) {
    const http = call.request.attributes?.request?.http ?? {};
    const user = keys.get(http.headers?.['api-key'] ?? '');
    console.log(JSON.stringify({ path: http.path, host: http.host, allowed: !!user }));
    if (user) {
      callback(null, { status: { code: 0 }, okResponse: { headers: [{ header: { key: 'x-user', value: user } }] } });
    } else {
      callback(null, {
        status: { code: 16 }, // UNAUTHENTICATED
        deniedResponse: {
          status: { code: 'Unauthorized' },
          body: 'ext auth: missing or unknown api-key header\n',
          headers: [{ header: { key: 'www-authenticate', value: 'API-Key' } }],
        },
      });
    }
  },
});
server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log(`ext-auth listening on :${port} (${keys.size} API keys)`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.forceShutdown(); process.exit(0); });
