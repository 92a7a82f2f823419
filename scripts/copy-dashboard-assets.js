// Copies the dashboard's static files next to the compiled api (dist/ is all the container ships).
const { cpSync, rmSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'apps/api/src/dashboard/static');
const to = path.join(root, 'dist/apps/api/src/dashboard/static');
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
