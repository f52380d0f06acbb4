// A shared token store for oidc-provider's workers (its in-memory adapter is per process and
// development-only), used by the introspection comparison: two cluster workers must both know every
// opaque token. Keys live under PEER_REDIS_PREFIX and expire with the tokens.
import Redis from 'ioredis';

const client = new Redis(process.env.PEER_REDIS_URL, { keyPrefix: process.env.PEER_REDIS_PREFIX || 'oidc-bench:' });
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

export default class RedisAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = client.multi();
    if (expiresIn) multi.set(key, JSON.stringify(payload), 'EX', expiresIn);
    else multi.set(key, JSON.stringify(payload));
    if (grantable.has(this.name) && payload.grantId) {
      multi.rpush(`grant:${payload.grantId}`, key);
      if (expiresIn) multi.expire(`grant:${payload.grantId}`, expiresIn);
    }
    if (payload.userCode) multi.set(`userCode:${payload.userCode}`, id, ...(expiresIn ? ['EX', expiresIn] : []));
    if (payload.uid) multi.set(`uid:${payload.uid}`, id, ...(expiresIn ? ['EX', expiresIn] : []));
    await multi.exec();
  }

  async find(id) {
    const data = await client.get(this.key(id));
    return data ? JSON.parse(data) : undefined;
  }

  async findByUid(uid) {
    const id = await client.get(`uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = await client.get(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    const found = await this.find(id);
    if (!found) return;
    found.consumed = Math.floor(Date.now() / 1000);
    const ttl = await client.ttl(this.key(id));
    if (ttl > 0) await client.set(this.key(id), JSON.stringify(found), 'EX', ttl);
    else await client.set(this.key(id), JSON.stringify(found));
  }

  async destroy(id) { await client.del(this.key(id)); }

  async revokeByGrantId(grantId) {
    const keys = await client.lrange(`grant:${grantId}`, 0, -1);
    const multi = client.multi();
    keys.forEach((key) => multi.del(key));  // stored unprefixed; ioredis adds keyPrefix again
    multi.del(`grant:${grantId}`);
    await multi.exec();
  }
}
