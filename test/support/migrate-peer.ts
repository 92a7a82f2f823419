/** Applies migrations to the database named by argv[2] and prints what it applied, as JSON. */
import { createPool, migrate } from '@infrabox/database';

async function main(): Promise<void> {
  const pool = createPool(process.argv[2]);
  const result = await migrate(pool);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await pool.end();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
