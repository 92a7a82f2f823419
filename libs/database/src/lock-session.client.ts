import { Client } from 'pg';

/**
 * A dedicated connection for session advisory locks (never from the pool: a lock lives exactly
 * as long as its session). `onLost` runs when the session ends or fails — terminated, server
 * restart — since every lock it held is gone with it.
 */
export function createLockSessionClient(options: { databaseUrl: string; applicationName: string }, onLost: (client: Client) => void): Client {
  const client = new Client({
    connectionString: options.databaseUrl,
    application_name: options.applicationName,
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
    // A half-open socket would otherwise hang a lock query for ever.
    query_timeout: 5_000,
  });
  client.on('error', () => onLost(client));
  client.on('end', () => onLost(client));
  return client;
}
