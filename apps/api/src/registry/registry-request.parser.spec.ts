import { registryCredentialOf, requestedScopes } from './registry-request.parser';

describe('registry token request', () => {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

  it('takes the token from Basic (as the password, any user) or Bearer', () => {
    expect(registryCredentialOf(basic('x:tok.en'))).toEqual({ ok: true, token: 'tok.en' });
    expect(registryCredentialOf(basic('user:with:colons'))).toEqual({ ok: true, token: 'with:colons' });
    expect(registryCredentialOf('bearer abc')).toEqual({ ok: true, token: 'abc' });
  });

  it('names what is wrong with missing or malformed credentials', () => {
    expect(registryCredentialOf(undefined)).toEqual({ ok: false, problem: expect.stringContaining('missing credentials') });
    expect(registryCredentialOf(basic('justauser'))).toEqual({ ok: false, problem: expect.stringContaining('expected user:token') });
    expect(registryCredentialOf(basic('x:'))).toEqual({ ok: false, problem: expect.stringContaining('expected user:token') });
    expect(registryCredentialOf('Digest abc')).toEqual({ ok: false, problem: expect.stringContaining('malformed Authorization header') });
    expect(registryCredentialOf(['Bearer a', 'Bearer b'])).toEqual({ ok: false, problem: expect.stringContaining('give it once') });
  });

  it('reads scopes given several times or space-separated, merging those of one resource', () => {
    expect(requestedScopes(undefined)).toEqual([]);
    expect(requestedScopes(['repository:demo/x:pull', 'repository:demo/x:push repository:demo/y:pull'])).toEqual([
      { type: 'repository', name: 'demo/x', actions: ['pull', 'push'] },
      { type: 'repository', name: 'demo/y', actions: ['pull'] },
    ]);
    expect(requestedScopes('registry:catalog:*')).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  });

  it('refuses a bad scope, naming it', () => {
    expect(() => requestedScopes(['repository:demo/x:pull', 'repository:../x:pull'])).toThrow("scope 'repository:../x:pull': '../x' is not a repository name");
    expect(() => requestedScopes('blob:x:pull')).toThrow("scope 'blob:x:pull': unknown resource type 'blob'");
    expect(() => requestedScopes([{ a: 1 }])).toThrow('scope: expected text');
  });
});
