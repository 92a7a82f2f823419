import { BadRequestException } from '@nestjs/common';
import { jsonBodyFields } from './json-body';

describe('jsonBodyFields', () => {
  it('takes no body, or an object of known fields', () => {
    expect(jsonBodyFields(undefined, ['ttlSeconds'])).toEqual({});
    expect(jsonBodyFields({}, ['ttlSeconds'])).toEqual({});
    expect(jsonBodyFields({ ttlSeconds: 5 }, ['ttlSeconds'])).toEqual({ ttlSeconds: 5 });
  });

  // Found by the bad-input sweep: POST .../tokens with `[]` or `{"ttl": 60}` issued a token, and
  // POST .../builds with an extra field created a build.
  it.each([
    [[{ definition: {} }], 'request body: expected a JSON object, got an array'],
    ['text', 'request body: expected a JSON object, got string'],
    [{ definition: {}, foo: 1 }, '"foo": unknown field (expected definition, uploadId)'],
    [{ ['x'.repeat(1000)]: 1 }, `"${'x'.repeat(57)}...": unknown field (expected definition, uploadId)`],
  ])('refuses %j with a 400 naming the problem', (body, message) => {
    const attempt = () => jsonBodyFields(body, ['definition', 'uploadId']);
    expect(attempt).toThrow(BadRequestException);
    expect(attempt).toThrow(message);
  });
});
