import { rm } from 'node:fs/promises';

export default async function globalTeardown() {
  const s3 = globalThis.__INFRABOX_TEST_S3__;
  if (s3 && s3.exitCode === null) {
    const exited = new Promise((resolve) => s3.once('exit', resolve));
    s3.kill('SIGTERM');
    await exited;
  }
  const engine = globalThis.__INFRABOX_TEST_ENGINE__;
  if (engine) {
    await engine.engine.close();
    await rm(engine.socketDir, { recursive: true, force: true });
  }
  const keys = globalThis.__INFRABOX_TEST_KEYS__;
  if (keys) await rm(keys, { recursive: true, force: true });
  const embedded = globalThis.__INFRABOX_TEST_PG__;
  if (!embedded) return;
  await embedded.server.stop();
  await rm(embedded.dataDir, { recursive: true, force: true });
}
