import { parse } from 'yaml';
import { parseInstallConfig } from './install-config.loader';
import { renderRegistryConfig } from './registry-config.renderer';

const auth = { realm: 'http://127.0.0.1:8081/api/v1/registry/token', service: 'w1', issuer: 'w1', rootCertBundle: '/x/ca.pem' };

describe('renderRegistryConfig', () => {
  it('stores in the cluster folder locally and trusts the api as token service', () => {
    const config = parseInstallConfig('host: http://127.0.0.1:8081\ncluster: {name: w1}\nstorage: {local: {enabled: true, path: /data/w1}}\n', {}, '/');
    expect(parse(renderRegistryConfig(config, '127.0.0.1', auth))).toMatchObject({
      version: 0.1,
      storage: { filesystem: { rootdirectory: '/data/w1/registry' } },
      http: { addr: '127.0.0.1:9081' },
      auth: { token: { realm: auth.realm, service: 'w1', issuer: 'w1', rootcertbundle: '/x/ca.pem' } },
    });
  });
  it('uses the s3 and gcs drivers from the storage config, without secrets', () => {
    const s3 = parseInstallConfig('host: h\nstorage: {s3: {enabled: true, bucket: b, region: eu-west-1, endpoint: "http://s3:9000", secret_access_key: SECRET}}\n', {}, '/');
    const text = renderRegistryConfig(s3, '0.0.0.0', auth);
    expect(parse(text).storage.s3).toEqual({ bucket: 'b', region: 'eu-west-1', rootdirectory: '/registry', regionendpoint: 'http://s3:9000' });
    expect(text).not.toContain('SECRET');
    const gcs = parseInstallConfig('host: h\nstorage: {gcs: {enabled: true, bucket: g}}\n', {}, '/');
    expect(parse(renderRegistryConfig(gcs, '0.0.0.0', auth)).storage.gcs).toEqual({ bucket: 'g', rootdirectory: '/registry' });
  });
});
