import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engineCandidates, findContainerEngine, infraboxPodmanSocket } from './container-engine';

describe('finding a container engine', () => {
  it('tries $DOCKER_HOST first, then Docker’s socket, Podman’s sockets and InfraBox’s own Podman service', () => {
    expect(engineCandidates({ DOCKER_HOST: 'tcp://10.0.0.1:2375', XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual([
      'tcp://10.0.0.1:2375',
      'unix:///var/run/docker.sock',
      'unix:///run/podman/podman.sock',
      'unix:///run/user/1000/podman/podman.sock',
      `unix://${infraboxPodmanSocket()}`,
    ]);
    expect(engineCandidates({})[0]).toBe('unix:///var/run/docker.sock');
  });

  it('takes only the engine $DOCKER_HOST names: one that does not answer is an error naming it, not another engine', async () => {
    const started = Date.now();
    await expect(findContainerEngine({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', PATH: '/nonexistent' }, { dockerHostWaitMs: 600 })).rejects.toThrow(
      'DOCKER_HOST is unix:///nonexistent/docker.sock, but no container engine answered there within 1 s',
    );
    // It waited for it (a busy engine may miss a ping) rather than looking elsewhere at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('takes the Docker API at $DOCKER_HOST, naming where it is and what it is', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'engine-spec-'));
    const socket = path.join(dir, 'engine.sock');
    const server = createServer((req, res) => {
      if (req.url?.endsWith('/version')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Version: '27.0.1', Components: [{ Name: 'Engine', Version: '27.0.1' }] }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const engine = await findContainerEngine({ DOCKER_HOST: `unix://${socket}`, PATH: '/nonexistent' });
      expect(engine?.url).toBe(`unix://${socket}`);
      expect(engine?.description).toBe(`unix://${socket} (docker 27.0.1)`);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
