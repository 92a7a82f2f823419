import { Global, Module } from '@nestjs/common';
import { ClustersModule } from '@infrabox/clusters';
import { AuthGuard } from './auth.guard';
import { ClusterKeyService } from './cluster-key.service';
import { KeyRepository } from './key.repository';
import { TokenService } from './token.service';

/**
 * Tokens for jobs, peer clusters and users, and the guard behind `@Authenticated(...)`.
 * Global; needs the (global) `DatabaseModule` and `InstallConfigModule`. Options: provide
 * `AUTH_OPTIONS` to change the defaults.
 */
@Global()
@Module({
  imports: [ClustersModule],
  providers: [KeyRepository, ClusterKeyService, TokenService, AuthGuard],
  exports: [KeyRepository, ClusterKeyService, TokenService, AuthGuard],
})
export class AuthModule {}
