import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { PeerAccessPolicy } from './peer-access.policy';
import { PeerAccessRepository } from './peer-access.repository';
import { PeerArtifactsController } from './peer-artifacts.controller';
import { PeerArtifactsService } from './peer-artifacts.service';
import { PushReceipts } from './push-receipts.service';

@Module({
  imports: [JobsModule],
  controllers: [PeerArtifactsController],
  providers: [PeerAccessRepository, PeerAccessPolicy, PeerArtifactsService, PushReceipts],
})
export class PeerModule {}
