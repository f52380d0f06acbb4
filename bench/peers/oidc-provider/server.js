// Peer: panva/oidc-provider with a client_credentials client issuing JWT access tokens (ES256).
// Usage: node server.js [port] ; listens on 127.0.0.1 only.
// Benchmark variant (bench/peers): PEER_ACCESS_TOKEN_FORMAT=opaque issues opaque access tokens (the only
// kind oidc-provider can introspect) and PEER_REDIS_URL stores them in Redis, shared by the cluster's workers.
// Unset, it is exactly the reference configuration of shared/peers/oidc-provider.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const accessTokenFormat = process.env.PEER_ACCESS_TOKEN_FORMAT || 'jwt';
const adapter = process.env.PEER_REDIS_URL ? (await import('./redis_adapter.js')).default : undefined;

const port = Number(process.argv[2] || 3000);
const issuer = `http://127.0.0.1:${port}`;
const es = await generateKeyPair('ES256', { extractable: true });
const rs = await generateKeyPair('RS256', { extractable: true });
const keys = [
  { ...(await exportJWK(es.privateKey)), kid: 'es', alg: 'ES256', use: 'sig' },
  { ...(await exportJWK(rs.privateKey)), kid: 'rs', alg: 'RS256', use: 'sig' },
];

const provider = new Provider(issuer, {
  ...(adapter ? { adapter } : {}),
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789abcdef0123456789abcdef',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys },
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.example',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read write',
        audience: 'https://api.example',
        accessTokenTTL: 3600,
        accessTokenFormat,
        ...(accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider on ${issuer}`));
