import { Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@infrabox/auth';
import { PeerAccessPolicy } from './peer-access.policy';
import { TarBody } from '../http/content-type.guard';
import { answerIncomplete, peerOf, sendArchive } from './archive-response';
import { parseRangeHeader } from './range-header';
import { PeerSourcesService } from './peer-sources.service';

/**
 * Build sources between clusters: a cluster running one of the build's jobs fetches it (pull),
 * or — when it can reach no cluster holding it — a holder sends it (push).
 */
@Controller('api/v1/peer/builds/:id/source')
@Authenticated('cluster')
export class PeerSourcesController {
  constructor(
    private readonly sources: PeerSourcesService,
    private readonly access: PeerAccessPolicy,
  ) {}

  /** The source tar; `Range: bytes=N-` resumes a cut transfer. */
  @Get()
  async download(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) buildId: string,
    @Headers('range') rangeHeader: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.access.mayFetchSource(principal, buildId);
    const { source, stream, range } = await this.sources.open(buildId, parseRangeHeader(rangeHeader));
    sendArchive(res, source, stream, range);
  }

  /**
   * The source tar pushed by a holder: 201 once stored and verified (again for a copy held
   * already), 422 for other bytes; a cut push resumes as an output's does (`Content-Range`).
   */
  @Put()
  @HttpCode(201)
  @TarBody()
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) buildId: string,
    @Headers('content-range') contentRange: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.access.mayPushSource(principal, buildId);
    const copy = await this.sources.receive(buildId, req, peerOf(principal), contentRange);
    if ('received' in copy) return answerIncomplete(res, copy.received);
    return { buildId: copy.buildId, cluster: copy.cluster, size: copy.size, sha256: copy.sha256 };
  }
}
