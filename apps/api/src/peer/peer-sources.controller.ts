import { Controller, Get, Headers, Param, ParseUUIDPipe, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Authenticated } from '@infrabox/auth';
import { sendArchive } from './archive-response';
import { parseRangeHeader } from './range-header';
import { PeerSourcesService } from './peer-sources.service';

/** Build sources between clusters: a cluster running one of the build's jobs fetches it (pull). */
@Controller('api/v1/peer/builds/:id/source')
@Authenticated('cluster')
export class PeerSourcesController {
  constructor(private readonly sources: PeerSourcesService) {}

  /** The source tar; `Range: bytes=N-` resumes a cut transfer. */
  @Get()
  async download(@Param('id', ParseUUIDPipe) buildId: string, @Headers('range') rangeHeader: string | undefined, @Res() res: Response): Promise<void> {
    const { source, stream, range } = await this.sources.open(buildId, parseRangeHeader(rangeHeader));
    sendArchive(res, source, stream, range);
  }
}
