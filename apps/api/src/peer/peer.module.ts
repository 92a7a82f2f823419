import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { PeerOutputsController } from './peer-outputs.controller';
import { PeerOutputsService } from './peer-outputs.service';
import { PeerSourcesController } from './peer-sources.controller';
import { PeerSourcesService } from './peer-sources.service';

@Module({
  imports: [JobsModule],
  controllers: [PeerOutputsController, PeerSourcesController],
  providers: [PeerOutputsService, PeerSourcesService],
})
export class PeerModule {}
