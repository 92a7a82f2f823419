import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type InstallConfig, InstallConfigModule, type StorageConfig } from '@infrabox/config';
import { GcsStorage, gcsClientOptions } from './gcs.storage';
import { LocalStorage } from './local.storage';
import { S3Storage } from './s3.storage';
import { createStorage } from './storage.factory';
import { InjectObjectStorage, OBJECT_STORAGE, StorageModule } from './storage.module';
import type { ObjectStorage } from './storage.types';

function installConfig(storage: StorageConfig): InstallConfig {
  return {
    apiUrl: 'http://localhost:8080',
    listenPort: 8080,
    cluster: { name: 'master', labels: [], isMaster: true },
    database: { kind: 'postgres', url: 'postgres://unused' },
    storage,
    logLevel: 'warn',
  };
}

@Injectable()
class NeedsStorage {
  constructor(@InjectObjectStorage() readonly storage: ObjectStorage) {}
}

// A separate module proves OBJECT_STORAGE is visible without importing StorageModule (global).
@Module({ providers: [NeedsStorage] })
class FeatureModule {}

describe('StorageModule', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'infrabox-storage-module-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('provides OBJECT_STORAGE globally, built from the install config, and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [InstallConfigModule.forRoot(installConfig({ kind: 'local', path: root })), StorageModule, FeatureModule],
    }).compile();
    const storage = moduleRef.get<ObjectStorage>(OBJECT_STORAGE);
    const close = jest.spyOn(storage, 'close');

    expect(storage).toBeInstanceOf(LocalStorage);
    expect(moduleRef.get(NeedsStorage).storage).toBe(storage);
    await expect(storage.put('greeting', Readable.from([Buffer.from('hi')]))).resolves.toMatchObject({ size: 2 });
    await expect(storage.head('greeting')).resolves.toEqual({ size: 2 });

    await moduleRef.close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe('createStorage', () => {
  it('builds the backend the config names, without contacting it', async () => {
    const s3 = createStorage({ kind: 's3', bucket: 'b', region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true });
    const gcs = createStorage({ kind: 'gcs', bucket: 'b', apiEndpoint: 'http://127.0.0.1:1', projectId: 'p' });

    expect(createStorage({ kind: 'local', path: '/tmp/x' })).toBeInstanceOf(LocalStorage);
    expect(s3).toBeInstanceOf(S3Storage);
    expect(gcs).toBeInstanceOf(GcsStorage);
    await expect((s3 as S3Storage).client.config.region()).resolves.toBe('eu-west-1');
    expect((s3 as S3Storage).client.config.forcePathStyle).toBe(true);
    await s3.close();
  });

  it('passes S3 credentials from the config when both halves are given', async () => {
    const s3 = new S3Storage({ kind: 's3', bucket: 'b', region: 'us-east-1', forcePathStyle: false, accessKeyId: 'AKIA', secretAccessKey: 'secret' });

    await expect(s3.client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'AKIA', secretAccessKey: 'secret' });
    await s3.close();
  });

  it('decodes the base64 GCS service account into client credentials and project', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const account = { type: 'service_account', project_id: 'from-key', client_email: 'sa@from-key.iam.gserviceaccount.com', private_key: pem };
    const serviceAccount = Buffer.from(JSON.stringify(account)).toString('base64');

    expect(gcsClientOptions({ kind: 'gcs', bucket: 'b', serviceAccount })).toEqual({
      credentials: { client_email: account.client_email, private_key: pem },
      projectId: 'from-key',
    });
    expect(gcsClientOptions({ kind: 'gcs', bucket: 'b', serviceAccount, projectId: 'explicit' }).projectId).toBe('explicit');
    expect(() => gcsClientOptions({ kind: 'gcs', bucket: 'b', serviceAccount: Buffer.from('{}').toString('base64') })).toThrow(
      'lacks client_email or private_key',
    );
  });
});
