import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { AuthController } from './auth.controller';
import { ProjectTokensController } from './project-tokens.controller';

/** HTTP for tokens: `whoami`, and issuing project tokens. TokenService comes from the global `AuthModule`. */
@Module({
  imports: [JobsModule],
  controllers: [AuthController, ProjectTokensController],
})
export class AuthApiModule {}
