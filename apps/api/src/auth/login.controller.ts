import { BadRequestException, Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DeviceLoginDto, LoginConfigDto, LoginDto, LoginPendingDto } from '@infrabox/contract';
import { jsonBodyFields } from '../http/json-body';
import { OidcLoginService } from './oidc-login.service';

const STATE_COOKIE = 'infrabox_login';
const CALLBACK_PATH = '/api/v1/auth/callback';
const DEFAULT_RETURN = '/dashboard';

/**
 * Logging users in (the master only): the browser's authorization-code flow with PKCE ends on
 * `<return_to>#token=<user token>` (a fragment never reaches a server or its logs); the CLI's
 * device flow (`infrabox login`) polls `device/token` until the user has confirmed the code.
 */
@Controller('api/v1/auth')
export class LoginController {
  constructor(private readonly logins: OidcLoginService) {}

  /** Open: how to log in here (the dashboard asks before showing its login). */
  @Get('config')
  config(): LoginConfigDto {
    const issuer = this.logins.issuer;
    return issuer === undefined ? { login: 'token' } : { login: 'oidc', issuer };
  }

  /** Open: sends the browser to the provider. `return_to`: a path of this site to come back to (default /dashboard). */
  @Get('login')
  async login(@Query('return_to') returnTo: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const { url, state } = await this.logins.startBrowserLogin(returnPath(returnTo));
    response.setHeader('set-cookie', stateCookie(state, request, 600));
    response.setHeader('cache-control', 'no-store');
    response.redirect(302, url);
  }

  /** Open: where the provider sends the browser back; ends on `<return_to>#token=…`. */
  @Get('callback')
  async callback(@Query() query: Record<string, unknown>, @Req() request: Request, @Res() response: Response): Promise<void> {
    const login = await this.logins.finishBrowserLogin(query, cookieOf(request, STATE_COOKIE));
    response.setHeader('set-cookie', stateCookie('', request, 0));
    response.setHeader('cache-control', 'no-store');
    response.redirect(302, `${login.returnTo}#token=${encodeURIComponent(login.token)}`);
  }

  /** Open: starts a device login (`infrabox login`). No body (or `{}`). */
  @Post('device')
  @HttpCode(200)
  device(@Body() body: unknown): Promise<DeviceLoginDto> {
    jsonBodyFields(body, []);
    return this.logins.startDeviceLogin();
  }

  /** Open: `{ "deviceCode": … }` → 200 with the user token once the user confirmed, 202 while pending. */
  @Post('device/token')
  @HttpCode(200)
  async deviceToken(@Body() body: unknown, @Res({ passthrough: true }) response: Response): Promise<LoginDto | LoginPendingDto> {
    const { deviceCode } = jsonBodyFields(body, ['deviceCode']);
    if (typeof deviceCode !== 'string' || deviceCode === '' || deviceCode.length > 2048) {
      throw new BadRequestException('deviceCode: expected the deviceCode of POST /api/v1/auth/device');
    }
    const answer = await this.logins.pollDeviceLogin(deviceCode);
    if ('status' in answer) response.status(202);
    return answer;
  }
}

/** A path on this site (no scheme, no host, no `//`): anything else would make the login an open redirect. */
function returnPath(value: unknown): string {
  if (value === undefined || value === '') return DEFAULT_RETURN;
  if (typeof value !== 'string' || !/^\/(?![/\\])[\x21-\x7e]{0,2000}$/.test(value) || value.includes('#')) {
    throw new BadRequestException('return_to: expected a path of this site such as /dashboard (no scheme, host or #)');
  }
  return value;
}

function stateCookie(value: string, request: Request, maxAgeSeconds: number): string {
  const secure = request.secure || request.headers['x-forwarded-proto'] === 'https';
  return `${STATE_COOKIE}=${value}; Path=${CALLBACK_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

function cookieOf(request: Request, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name && rest.length > 0 && rest.join('=') !== '') return rest.join('=');
  }
  return undefined;
}
