import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { AuthController } from './auth.controller';
import { LoginController } from './login.controller';
import { OidcLoginService } from './oidc-login.service';
import { ProjectMembersController } from './project-members.controller';
import { ProjectTokensController } from './project-tokens.controller';

/** HTTP for tokens: `whoami`, user logins, and issuing project tokens. TokenService comes from the global `AuthModule`. */
@Module({
  imports: [JobsModule],
  controllers: [AuthController, LoginController, ProjectMembersController, ProjectTokensController],
  providers: [OidcLoginService],
})
export class AuthApiModule {}
