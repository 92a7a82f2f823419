import { Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@infrabox/auth';
import { ARTIFACT_KIND_INFO, type ArtifactKind } from '@infrabox/jobs';
import { TarBody } from '../http/content-type.guard';
import { answerIncomplete, peerOf, sendArchive } from './archive-response';
import { ParseArtifactKindPipe } from './artifact-kind.pipe';
import { PeerAccessPolicy } from './peer-access.policy';
import { PeerArtifactsService } from './peer-artifacts.service';
import { parseRangeHeader } from './range-header';

/**
 * Artifacts between clusters, with a cluster token: `output/<job id>` (a job's output, for a
 * cluster running one of its children) and `source/<build id>` (a build's source, for a cluster
 * running one of the build's jobs). The cluster that needs it fetches it (pull), or — when it can
 * reach no cluster holding it — a holder sends it (push).
 */
@Controller('api/v1/peer/:kind/:id')
@Authenticated('cluster')
export class PeerArtifactsController {
  constructor(
    private readonly artifacts: PeerArtifactsService,
    private readonly access: PeerAccessPolicy,
  ) {}

  /** The tar; `Range: bytes=N-` resumes a cut transfer. */
  @Get()
  async download(
    @CurrentPrincipal() principal: Principal,
    @Param('kind', ParseArtifactKindPipe) kind: ArtifactKind,
    @Param('id', ParseUUIDPipe) id: string,
    @Headers('range') rangeHeader: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.access.mayFetch(kind, principal, id);
    const { copy, stream, range } = await this.artifacts.open(kind, id, parseRangeHeader(rangeHeader));
    sendArchive(res, copy, stream, range);
  }

  /**
   * The tar pushed by a holder: 201 once stored and verified (again for a copy held already), 422
   * for other bytes. A cut push resumes: `Content-Range: bytes *\/<size>` asks how much arrived
   * (308, `Range: bytes=0-<last>`), `Content-Range: bytes <next>-<size - 1>/<size>` sends the rest.
   */
  @Put()
  @HttpCode(201)
  @TarBody()
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Param('kind', ParseArtifactKindPipe) kind: ArtifactKind,
    @Param('id', ParseUUIDPipe) id: string,
    @Headers('content-range') contentRange: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.access.mayPush(kind, principal, id);
    const copy = await this.artifacts.receive(kind, id, req, peerOf(principal), contentRange);
    if ('received' in copy) return answerIncomplete(res, copy.received);
    return { [ARTIFACT_KIND_INFO[kind].idField]: copy.id, cluster: copy.cluster, size: copy.size, sha256: copy.sha256 };
  }
}
