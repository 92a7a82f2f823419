import { isConnectionFailure } from './connection-failure';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isConnectionFailure', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset socket', withCode('read ECONNRESET', 'ECONNRESET')],
    ['pg_terminate_backend or a fast shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['a server still starting', withCode('the database system is starting up', '57P03')],
    ['a connection exception (class 08)', withCode('connection failure', '08006')],
    ['a connection that ended', new Error('Connection terminated unexpectedly')],
    ['a client that broke before', new Error('Client has encountered a connection error and is not queryable')],
  ])('is true for %s', (_name, error) => expect(isConnectionFailure(error)).toBe(true));

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['an archive refused for an escaping entry', new Error("archive entry '../escape' would escape the target folder")],
    ['a missing file', withCode("ENOENT: no such file or directory, open 'x'", 'ENOENT')],
    ['not an error at all', 'ECONNRESET'],
  ])('is false for %s', (_name, error) => expect(isConnectionFailure(error)).toBe(false));
});
