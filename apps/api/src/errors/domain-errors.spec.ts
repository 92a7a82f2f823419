import { InvalidTokenError, NotTheIssuerError } from '@infrabox/auth';
import { ArchiveLimitError } from '@infrabox/archive';
import { answerForDomainError, BEARER_CHALLENGE } from './domain-errors';

describe('answerForDomainError', () => {
  it('answers a refused token with 401 and the bearer challenge, naming the reason', () => {
    expect(answerForDomainError(new InvalidTokenError('token expired'))).toEqual({ status: 401, message: 'invalid token: token expired', challenge: BEARER_CHALLENGE });
  });

  it('answers a token only the master issues with 403, pointing at the master', () => {
    expect(answerForDomainError(new NotTheIssuerError('project', 'worker-1'))).toEqual({
      status: 403,
      message: "project tokens are issued by the master cluster only, not by cluster 'worker-1': ask the master's api",
    });
  });

  it('answers an archive over a cap with 413 naming the cap', () => {
    expect(answerForDomainError(new ArchiveLimitError('entries', 10))).toMatchObject({ status: 413, message: expect.stringContaining('more than 10 entries') });
  });

  it('leaves every other error to the 500 answer', () => {
    expect(answerForDomainError(new Error('boom'))).toBeNull();
    expect(answerForDomainError('a string')).toBeNull();
  });
});
