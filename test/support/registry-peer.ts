/**
 * A registry in its own process, for tests that need one to die (SIGKILL) rather than stop.
 * Argument: {"cluster":"name","labels":[…],"projects":[…],"apiUrl":"…","registryPort":N,"options":{…RegistryOptions}}. Prints READY once started, then
 * LEADS / FOLLOWS whenever its liveness leadership changes.
 */
import 'reflect-metadata';
import { LivenessService } from '../../apps/registry/src/liveness/liveness.service';
import { RegistryOptions } from '../../apps/registry/src/registry.options';
import { clusterConfig, startRegistry } from './clusters';

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as { cluster: string; labels?: string[]; projects?: string[]; apiUrl?: string; registryPort?: number; options: Partial<RegistryOptions> };
  const config = clusterConfig(args.cluster, { labels: args.labels, projects: args.projects, apiUrl: args.apiUrl, registryPort: args.registryPort });
  const app = await startRegistry(config, args.options);
  const liveness = app.get(LivenessService);
  process.stdout.write('READY\n');
  let leading = false;
  setInterval(() => {
    if (liveness.isLeader === leading) return;
    leading = liveness.isLeader;
    process.stdout.write(leading ? 'LEADS\n' : 'FOLLOWS\n');
  }, 20);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

main().catch((error: Error) => {
  process.stderr.write(`registry-peer: ${error.stack}\n`);
  process.exit(1);
});
