import { Body, Controller, INestApplication, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { send } from '../../../../test/sweep/sweep-http';
import { AllExceptionsFilter } from '../errors/all-exceptions.filter';
import { configureApiHttp } from './http-setup';

@Controller()
class EchoController {
  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return { body };
  }
}

/** The api's HTTP edge as `main.ts` sets it up: what reaches a controller, and how refusals look. */
describe('configureApiHttp', () => {
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    const module = await Test.createTestingModule({ controllers: [EchoController], providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }] }).compile();
    app = module.createNestApplication({ logger: false });
    configureApiHttp(app);
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  const post = (body: Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => send(baseUrl, 'POST', '/echo', { headers, body });

  it('parses UTF-8 JSON bodies', async () => {
    const response = await post(Buffer.from(JSON.stringify({ name: 'ünï ☃' })));
    expect(response.status).toBe(201);
    expect(JSON.parse(response.text)).toEqual({ body: { name: 'ünï ☃' } });
  });

  // Found by the bad-input sweep: these bytes were read as U+FFFD and a build was created with them.
  it.each([[[0xff, 0xfe]], [[0xc3, 0x28]], [[0xed, 0xa0, 0x80]]])('refuses a body with the bytes %j, which are not UTF-8', async (bytes) => {
    const response = await post(Buffer.concat([Buffer.from('{"name":"a'), Buffer.from(bytes), Buffer.from('"}')]));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual({ statusCode: 400, message: 'request body: not valid UTF-8' });
  });

  it('refuses a JSON body over the limit', async () => {
    const response = await post(Buffer.from(`{"x":"${'x'.repeat(2 * 1024 * 1024)}"}`));
    expect(response.status).toBe(413);
    expect(JSON.parse(response.text)).toEqual({ statusCode: 413, message: 'request body: too large' });
  });

  // Found by the bad-input sweep: Node answered a 20 kB token with a bare 431 and no body.
  it('answers headers too large for the HTTP parser with a JSON 431', async () => {
    const response = await post(Buffer.from('{}'), { 'content-type': 'application/json', authorization: `Bearer ${'x'.repeat(20_000)}` });
    expect(response.status).toBe(431);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.text)).toEqual({ statusCode: 431, message: 'request headers: too large' });
  });
});
