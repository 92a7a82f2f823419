import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { PeerAccessPolicy } from './peer-access.policy';
import { PeerAccessRepository } from './peer-access.repository';
import { PeerOutputsController } from './peer-outputs.controller';
import { PeerOutputsService } from './peer-outputs.service';
import { PeerSourcesController } from './peer-sources.controller';
import { PeerSourcesService } from './peer-sources.service';
import { PushReceipts } from './push-receipts.service';

@Module({
  imports: [JobsModule],
  controllers: [PeerOutputsController, PeerSourcesController],
  providers: [PeerAccessRepository, PeerAccessPolicy, PeerOutputsService, PeerSourcesService, PushReceipts],
})
export class PeerModule {}
