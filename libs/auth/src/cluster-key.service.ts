import { Inject, Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import type { JWK, KeyLike } from 'jose';
import { authOf, CurrentCluster, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { KeyRepository, PinnedClusterKey } from './key.repository';
import { ensureTokenSigningKey } from './token-signing-key.store';

/** The algorithm of every token: EdDSA over Ed25519. */
export const TOKEN_ALGORITHM = 'EdDSA';

export interface SigningKey {
  cluster: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
  /** The public half as published: `{ kty: 'OKP', crv: 'Ed25519', x }`. */
  publicJwk: JWK;
}

/** The key file of a cluster is not the key its database pinned. */
export class KeyMismatchError extends Error {
  constructor(cluster: string, keyFile: string, pinned: PinnedClusterKey) {
    super(
      `cluster '${cluster}': the token signing key ${keyFile} is not the one pinned in the database on ${pinned.pinnedAt.toISOString()}; ` +
        `restore that key file, or replace the pinned key with 'infrabox admin rotate-key'`,
    );
    this.name = 'KeyMismatchError';
  }
}

/**
 * This cluster's token signing key: the private half only in the cluster's key file
 * (`auth.signing_key`, mode 600), the public half pinned in `cluster_key` by the first start so
 * peers verify this cluster's tokens without a shared secret. A key file that disagrees with
 * the pinned key stops the app: tokens it signed would be refused everywhere.
 */
@Injectable()
export class ClusterKeyService {
  private loading: Promise<SigningKey> | undefined;

  constructor(
    @Inject(INSTALL_CONFIG) private readonly config: InstallConfig,
    private readonly cluster: CurrentCluster,
    private readonly keys: KeyRepository,
  ) {}

  /** The cluster's signing key: read (or made) and pinned once per process. */
  signingKey(): Promise<SigningKey> {
    if (!this.loading) {
      const key = this.load();
      this.loading = key;
      // A failure (database down) is not remembered: the next call tries again.
      key.catch(() => {
        if (this.loading === key) this.loading = undefined;
      });
    }
    return this.loading;
  }

  /** Every cluster's pinned public key, by cluster. */
  async pinnedKeys(): Promise<Map<string, JWK>> {
    return new Map((await this.keys.findAll()).map((key) => [key.cluster, key.publicJwk]));
  }

  private async load(): Promise<SigningKey> {
    const cluster = this.cluster.name;
    const file = await ensureTokenSigningKey(authOf(this.config).signingKey);
    const pinned = await this.keys.pin(cluster, file.publicJwk);
    if (!isDeepStrictEqual(publicPart(pinned.publicJwk), file.publicJwk)) throw new KeyMismatchError(cluster, file.keyFile, pinned);
    return { cluster, privateKey: file.privateKey, publicKey: file.publicKey, publicJwk: file.publicJwk };
  }
}

/** Only the public members of an Ed25519 JWK; null when `jwk` is not one. */
export function publicPart(jwk: unknown): JWK | null {
  const candidate = jwk as Partial<JWK> | null;
  if (!candidate || typeof candidate !== 'object') return null;
  if (candidate.kty !== 'OKP' || candidate.crv !== 'Ed25519' || typeof candidate.x !== 'string' || candidate.x === '') return null;
  return { kty: 'OKP', crv: 'Ed25519', x: candidate.x };
}
