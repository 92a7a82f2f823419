import { builtImageName } from './job-image.names';

describe('a docker job’s image', () => {
  it('is named <registry>/<project>/<job name>:build_<number>, in the characters a registry takes', () => {
    expect(builtImageName('127.0.0.1:9080', 'demo', 'img', 7)).toBe('127.0.0.1:9080/demo/img:build_7');
    expect(builtImageName('registry.example.com', 'My Project', 'sub/Build Image', 12)).toBe('registry.example.com/my-project/sub/build-image:build_12');
  });
});
