import { Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@infrabox/auth';
import { PeerAccessPolicy } from './peer-access.policy';
import { TarBody } from '../http/content-type.guard';
import { answerIncomplete, peerOf, sendArchive } from './archive-response';
import { parseRangeHeader } from './range-header';
import { PeerOutputsService } from './peer-outputs.service';

/** Bytes between clusters: peers fetch (pull) or send (push) job outputs with a cluster token. */
@Controller('api/v1/peer/jobs/:id/output')
@Authenticated('cluster')
export class PeerOutputsController {
  constructor(
    private readonly outputs: PeerOutputsService,
    private readonly access: PeerAccessPolicy,
  ) {}

  /** The output tar; `Range: bytes=N-` resumes a cut transfer. */
  @Get()
  async download(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) jobId: string,
    @Headers('range') rangeHeader: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.access.mayFetchOutput(principal, jobId);
    const { output, stream, range } = await this.outputs.open(jobId, parseRangeHeader(rangeHeader));
    sendArchive(res, output, stream, range);
  }

  /**
   * The output tar pushed by a holder: 201 once stored and verified. A cut push resumes:
   * `Content-Range: bytes *\/<size>` asks how much arrived (308, `Range: bytes=0-<last>`),
   * `Content-Range: bytes <next>-<size - 1>/<size>` sends the rest.
   */
  @Put()
  @HttpCode(201)
  @TarBody()
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) jobId: string,
    @Headers('content-range') contentRange: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.access.mayPushOutput(principal, jobId);
    const copy = await this.outputs.receive(jobId, req, peerOf(principal), contentRange);
    if ('received' in copy) return answerIncomplete(res, copy.received);
    return { jobId: copy.jobId, cluster: copy.cluster, size: copy.size, sha256: copy.sha256 };
  }
}
