import { Global, Module } from '@nestjs/common';
import { AuthGuard } from './auth.guard';
import { ClusterKeyService } from './cluster-key.service';
import { KeyRepository } from './key.repository';
import { TokenFactsRepository } from './token-facts.repository';
import { TokenService } from './token.service';

/**
 * Tokens for jobs, peer clusters and users, and the guard behind `@Authenticated(...)`.
 * Global; needs the (global) `DatabaseModule` and `InstallConfigModule`. Options: provide
 * `AUTH_OPTIONS` to change the defaults.
 */
@Global()
@Module({
  providers: [KeyRepository, TokenFactsRepository, ClusterKeyService, TokenService, AuthGuard],
  exports: [KeyRepository, TokenFactsRepository, ClusterKeyService, TokenService, AuthGuard],
})
export class AuthModule {}
