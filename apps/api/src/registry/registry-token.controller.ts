import { Controller, Get, Headers, Query, Res, UnauthorizedException } from '@nestjs/common';
import type { Response } from 'express';
import { InvalidTokenError, type Principal, TokenService } from '@infrabox/auth';
import { registryCredentialOf } from './registry-request.parser';
import type { RegistryTokenDto } from './registry-token.dto';
import { type RegistryTokenRequest, RegistryTokenService } from './registry-token.service';

/** Registry clients are told to log in with Basic credentials (an InfraBox token as the password). */
const CHALLENGE = 'Basic realm="InfraBox registry token service", charset="UTF-8"';

/**
 * `GET /api/v1/registry/token?service=<cluster>&scope=repository:<project>/<name>:pull,push…`:
 * the token service of this cluster's registry. Authenticates the caller (Basic with the token
 * as password, or Bearer: registry clients cannot use the guard's Bearer-only header) and leaves
 * what it is granted to {@link RegistryTokenService}.
 */
@Controller('api/v1/registry') // REGISTRY_TOKEN_ROUTE; spelled out so route sweeps read it (the e2e test calls the constant)
export class RegistryTokenController {
  constructor(
    private readonly tokens: TokenService,
    private readonly registryTokens: RegistryTokenService,
  ) {}

  @Get('token')
  async token(
    @Headers('authorization') authorization: string | undefined,
    @Query() query: RegistryTokenRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RegistryTokenDto> {
    const principal = await this.authenticate(authorization, response);
    response.setHeader('Cache-Control', 'no-store');
    return this.registryTokens.issue(principal, { service: query.service, scope: query.scope });
  }

  private async authenticate(authorization: string | undefined, response: Response): Promise<Principal> {
    const unauthorized = (message: string) => {
      response.setHeader('WWW-Authenticate', CHALLENGE);
      return new UnauthorizedException({ statusCode: 401, message });
    };
    const credential = registryCredentialOf(authorization);
    if (!credential.ok) throw unauthorized(credential.problem);
    try {
      return await this.tokens.verify(credential.token);
    } catch (error) {
      // The exception filter answers 401; a registry client needs the token service's own challenge.
      if (error instanceof InvalidTokenError) response.setHeader('WWW-Authenticate', CHALLENGE);
      throw error;
    }
  }
}
