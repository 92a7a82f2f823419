import { parseAppArguments } from './app-arguments';

describe('parseAppArguments', () => {
  it('reads --config and --port in both spellings', () => {
    expect(parseAppArguments('api', ['--config', 'a.yaml', '--port', '9001'])).toEqual({ configFile: 'a.yaml', port: 9001 });
    expect(parseAppArguments('api', ['--config=b.yaml', '--port=0'])).toEqual({ configFile: 'b.yaml', port: 0 });
  });

  it('refuses a port that is not a port number, naming the value', () => {
    expect(() => parseAppArguments('api', ['--port', 'http'])).toThrow("--port needs a port number (0-65535), got 'http'");
    expect(() => parseAppArguments('api', ['--port=70000'])).toThrow("got '70000'");
    expect(() => parseAppArguments('api', ['--port'])).toThrow("got ''");
  });

  it('refuses unknown arguments and answers --help with the options', () => {
    expect(() => parseAppArguments('api', ['--verbose'])).toThrow("unknown argument '--verbose'");
    expect(parseAppArguments('scheduler', ['--help']).help).toContain('--port N');
  });
});
