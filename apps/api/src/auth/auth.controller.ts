import { Controller, Get } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';

@Controller('api/v1/auth')
export class AuthController {
  /** Who the token belongs to: for the CLI, jobs and peers to check their token. */
  @Get('whoami')
  @Authenticated('job', 'cluster', 'project', 'user', 'admin')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}
