// Preloaded by node-runtime.e2e-spec.ts: each Node process it is loaded into prints its version.
process.stdout.write(`node-version ${process.version}\n`);
