import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { PeerOutputsController } from './peer-outputs.controller';
import { PeerOutputsService } from './peer-outputs.service';

@Module({
  imports: [JobsModule],
  controllers: [PeerOutputsController],
  providers: [PeerOutputsService],
})
export class PeerModule {}
