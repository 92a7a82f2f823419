import { buildPaths } from './docker-build.paths';

describe('a docker job’s build context and Dockerfile', () => {
  it('is built from a Dockerfile inside the build context, both inside the source', () => {
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile' })).toEqual({ context: '/w/context', dockerfile: 'Dockerfile' });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'docker/app.Dockerfile', buildContext: 'docker' })).toEqual({ context: '/w/context/docker', dockerfile: 'app.Dockerfile' });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile', buildContext: '../..' })).toEqual({ error: "job 'img': build_context '../..' is outside the source" });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile', buildContext: 'docker' })).toEqual({
      error: "job 'img': docker_file 'Dockerfile' must be a file inside the build context 'docker'",
    });
  });
});
