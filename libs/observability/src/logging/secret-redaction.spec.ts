import { REDACTED, redactRequest, redactSecrets } from './secret-redaction';

describe('secret redaction of log lines', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJtYXN0ZXIifQ.c2lnbmF0dXJl-_';

  it('replaces ?token= and &access_token= values, Bearer and Basic credentials, and nothing else', () => {
    expect(redactSecrets(`GET /api/v1/jobs/1/source?token=${jwt}&x=1`)).toBe(`GET /api/v1/jobs/1/source?token=${REDACTED}&x=1`);
    expect(redactSecrets(`https://r/v2/token?scope=a&access_token=${jwt}`)).toBe(`https://r/v2/token?scope=a&access_token=${REDACTED}`);
    expect(redactSecrets(`fetch failed: authorization: Bearer ${jwt}`)).toBe(`fetch failed: authorization: Bearer ${REDACTED}`);
    expect(redactSecrets('Basic eDpzZWNyZXQ=')).toBe(`Basic ${REDACTED}`);
    expect(redactSecrets('tokens=3 and a tokenizer; job j1 finished')).toBe('tokens=3 and a tokenizer; job j1 finished');
  });

  it('copies a serialized request without its Authorization, Cookie and token query, leaving the original alone', () => {
    const req = {
      id: 7,
      method: 'GET',
      url: `/api/v1/peer/output/1?token=${jwt}`,
      query: { token: jwt, page: '2' },
      headers: { authorization: `Bearer ${jwt}`, Cookie: 'session=abc', 'content-type': 'application/json' },
      remoteAddress: '127.0.0.1',
    };
    const redacted = redactRequest(req);
    expect(redacted).toEqual({
      id: 7,
      method: 'GET',
      url: `/api/v1/peer/output/1?token=${REDACTED}`,
      query: { token: REDACTED, page: '2' },
      headers: { authorization: REDACTED, Cookie: REDACTED, 'content-type': 'application/json' },
      remoteAddress: '127.0.0.1',
    });
    expect(JSON.stringify(redacted)).not.toContain('c2lnbmF0dXJl');
    expect(req.headers.authorization).toBe(`Bearer ${jwt}`);
  });
});
