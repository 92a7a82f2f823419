import { buildPaths, builtImageName } from './image.builder';

describe('a docker job’s image', () => {
  it('is named <registry>/<project>/<job name>:build_<number>, in the characters a registry takes', () => {
    expect(builtImageName('127.0.0.1:9080', 'demo', 'img', 7)).toBe('127.0.0.1:9080/demo/img:build_7');
    expect(builtImageName('registry.example.com', 'My Project', 'sub/Build Image', 12)).toBe('registry.example.com/my-project/sub/build-image:build_12');
  });

  it('is built from a Dockerfile inside the build context, both inside the source', () => {
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile' })).toEqual({ context: '/w/context', dockerfile: 'Dockerfile' });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'docker/app.Dockerfile', buildContext: 'docker' })).toEqual({ context: '/w/context/docker', dockerfile: 'app.Dockerfile' });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile', buildContext: '../..' })).toEqual({ error: "job 'img': build_context '../..' is outside the source" });
    expect(buildPaths('/w/context', { name: 'img', dockerFile: 'Dockerfile', buildContext: 'docker' })).toEqual({
      error: "job 'img': docker_file 'Dockerfile' must be a file inside the build context 'docker'",
    });
  });
});
