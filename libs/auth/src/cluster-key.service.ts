import { Injectable } from '@nestjs/common';
import { exportJWK, generateKeyPair, importJWK, JWK, KeyLike } from 'jose';
import { ClusterRepository } from '@infrabox/clusters';
import { KeyRepository } from './key.repository';

/** The algorithm of every token: EdDSA over Ed25519. */
export const TOKEN_ALGORITHM = 'EdDSA';

export interface SigningKey {
  cluster: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
  /** The public half as published: `{ kty: 'OKP', crv: 'Ed25519', x }`. */
  publicJwk: JWK;
}

/**
 * Each cluster's key pair: created on first use (by whichever app of the cluster gets there
 * first), kept in `cluster_key`, and its public half published in the cluster's row so peers
 * verify this cluster's tokens without a shared secret.
 */
@Injectable()
export class ClusterKeyService {
  private readonly loading = new Map<string, Promise<SigningKey>>();

  constructor(
    private readonly keys: KeyRepository,
    private readonly clusters: ClusterRepository,
  ) {}

  /** The cluster's signing key: loaded (or created) and published once per process. */
  signingKey(cluster: string): Promise<SigningKey> {
    let key = this.loading.get(cluster);
    if (!key) {
      key = this.load(cluster);
      this.loading.set(cluster, key);
      // A failure (database down) is not remembered: the next call tries again.
      key.catch(() => this.loading.delete(cluster));
    }
    return key;
  }

  /**
   * The public JWK that verifies `cluster`'s tokens: the one published in its `cluster` row,
   * else the one in `cluster_key` (an app may sign before the registry created the row).
   * Null when the cluster has no key at all.
   */
  async publicKeyOf(cluster: string): Promise<JWK | null> {
    return ((await this.clusters.findPublicKey(cluster)) as JWK | null) ?? (await this.keys.findPublicJwk(cluster));
  }

  private async load(cluster: string): Promise<SigningKey> {
    const stored = (await this.keys.find(cluster)) ?? (await this.keys.insertIfMissing(cluster, await newKeyPair()));
    const publicJwk = publicPart(stored.publicJwk);
    if (!publicJwk) throw new Error(`cluster_key of '${cluster}' holds no Ed25519 public key`);
    const [privateKey, publicKey] = await Promise.all([
      importJWK(stored.privateJwk, TOKEN_ALGORITHM) as Promise<KeyLike>,
      importJWK(publicJwk, TOKEN_ALGORITHM) as Promise<KeyLike>,
    ]);
    // No row yet (the registry creates it): peers find the key in cluster_key meanwhile.
    await this.clusters.setPublicKey(cluster, publicJwk);
    return { cluster, privateKey, publicKey, publicJwk };
  }
}

async function newKeyPair(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const [privateJwk, publicJwk] = await Promise.all([exportJWK(privateKey), exportJWK(publicKey)]);
  return { privateJwk, publicJwk };
}

/** Only the public members of an Ed25519 JWK; null when `jwk` is not one. */
export function publicPart(jwk: unknown): JWK | null {
  const candidate = jwk as Partial<JWK> | null;
  if (!candidate || typeof candidate !== 'object') return null;
  if (candidate.kty !== 'OKP' || candidate.crv !== 'Ed25519' || typeof candidate.x !== 'string' || candidate.x === '') return null;
  return { kty: 'OKP', crv: 'Ed25519', x: candidate.x };
}
