import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { RegistryTokenController } from './registry-token.controller';
import { RegistryTokenService } from './registry-token.service';

/** HTTP for this cluster's image registry: its token service. TokenService comes from the global `AuthModule`. */
@Module({
  imports: [JobsModule],
  controllers: [RegistryTokenController],
  providers: [RegistryTokenService],
})
export class RegistryApiModule {}
