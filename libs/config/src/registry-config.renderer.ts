import path from 'node:path';
import { stringify } from 'yaml';
import { type InstallConfig, registryCertificateFile, registryOf } from './install-config.schema';

/** What the distribution registry of a cluster trusts: its api as token service. */
export interface RegistryTokenAuth {
  /** The api's token route, e.g. `http://127.0.0.1:8080/api/v1/registry/token`. */
  realm: string;
  /** The registry's service name (the token's `aud`): the cluster's name. */
  service: string;
  /** The token's `iss`: the cluster's name. */
  issuer: string;
  /** File with the PEM certificate of the key that signs registry tokens. */
  rootCertBundle: string;
}

/** The route of the api that issues registry tokens. */
export const REGISTRY_TOKEN_ROUTE = '/api/v1/registry/token';

/**
 * How cluster `config`'s registry and its api agree: the realm is the api's token route, the
 * service (the tokens' `aud`) and the issuer are the cluster's name, the certificate is the one
 * next to the signing key.
 */
export function registryTokenAuthOf(config: InstallConfig): RegistryTokenAuth {
  return {
    realm: `${config.apiUrl}${REGISTRY_TOKEN_ROUTE}`,
    service: config.cluster.name,
    issuer: config.cluster.name,
    rootCertBundle: registryCertificateFile(registryOf(config).signingKey),
  };
}

/**
 * The `config.yml` of a cluster's CNCF distribution registry (2.8), storing in that cluster's
 * storage: its own folder (`<path>/registry`) locally, the s3 or gcs driver (under `/registry`)
 * otherwise. Secrets are left to the driver's environment (REGISTRY_STORAGE_S3_ACCESSKEY …).
 */
export function renderRegistryConfig(config: InstallConfig, listenAddress: string, auth: RegistryTokenAuth): string {
  const storage = config.storage;
  let driver: Record<string, unknown>;
  switch (storage.kind) {
    case 'local':
      driver = { filesystem: { rootdirectory: path.join(storage.path, 'registry') } };
      break;
    case 's3':
      driver = {
        s3: {
          bucket: storage.bucket,
          region: storage.region,
          rootdirectory: '/registry',
          ...(storage.endpoint !== undefined && { regionendpoint: storage.endpoint }),
        },
      };
      break;
    case 'gcs':
      driver = { gcs: { bucket: storage.bucket, rootdirectory: '/registry' } };
      break;
  }
  return stringify({
    version: 0.1,
    // JSON lines, which `infrabox up` shows as readably as the apps' own.
    log: { level: 'info', formatter: 'json', fields: { service: 'registry', cluster: config.cluster.name } },
    storage: { ...driver, delete: { enabled: true } },
    http: { addr: `${listenAddress}:${registryOf(config).port}` },
    auth: { token: { realm: auth.realm, service: auth.service, issuer: auth.issuer, rootcertbundle: auth.rootCertBundle } },
  });
}
