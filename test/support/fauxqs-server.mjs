// The S3 test server (fauxqs, ESM-only) as a process of its own: it keeps objects in memory, and
// under `jest --runInBand` that memory would otherwise count against the test process, whose RSS the
// storage tests measure. Prints its URL on the first line of stdout; stops on SIGTERM/SIGINT or when
// stdin closes (the parent is gone).
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: 0, logger: false });
process.stdout.write(`http://127.0.0.1:${server.port}\n`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.once('end', stop);
process.stdin.resume();
